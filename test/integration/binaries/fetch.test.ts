// `kubeinstall binaries fetch` against a mirror this test builds and serves on 127.0.0.1 (node:http): tiny
// files laid out as the upstream releases are, packed with the system tar, their checksum files written in
// each upstream's format; the server needs the mirror's credentials, honours Range, and can break a
// download off half-way. Needs the built command (`npm run build`).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CNI_PLUGINS } from '../../../src/render/pod-network.js';
import { startKubeinstall, type CliResult } from '../kubeinstall.js';

const K8S = '1.34.2';
const ETCD = '3.5.21';
// src/versions.ts NODE_TOOLS_FOR_KUBERNETES['1.34']
const CONTAINERD = '2.1.4';
const RUNC = '1.3.3';
const CNI = '1.8.0';
const CRICTL = '1.34.0';
const USER = 'fetcher';
const PASSWORD = 'mirror-s3cret';

const work = mkdtempSync(join(tmpdir(), 'kubeinstall-fetch-'));
const mirror = join(work, 'mirror');
const dest = join(work, 'binaries');
const inventory = join(work, 'inventory.yaml');
afterAll(() => rmSync(work, { recursive: true, force: true }));

const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');
const put = (path: string, data: Buffer | string): void => {
  mkdirSync(dirname(join(mirror, path)), { recursive: true });
  writeFileSync(join(mirror, path), data);
};
const script = (name: string, version: string): string => `#!/bin/sh\necho "${name} v${version}"\n`;

/** A gzipped tarball of `files` (path inside -> content), made by the system tar as releases are. */
const tarball = (files: Record<string, string>, top: string): Buffer => {
  const stage = mkdtempSync(join(work, 'stage-'));
  for (const [path, data] of Object.entries(files)) {
    mkdirSync(dirname(join(stage, path)), { recursive: true });
    writeFileSync(join(stage, path), data, { mode: 0o755 });
  }
  const out = `${stage}.tgz`;
  execFileSync('tar', ['-czf', out, '-C', stage, top]);
  return readFileSync(out);
};

const K8S_BINARIES = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubectl', 'kubelet', 'kube-proxy'];
const k8sPath = (name: string) => `release/v${K8S}/bin/linux/amd64/${name}`;
const gh = (repo: string, tag: string, file: string) => `${repo}/releases/download/${tag}/${file}`;
const etcdFile = `etcd-v${ETCD}-linux-amd64.tar.gz`;
const containerdFile = `containerd-${CONTAINERD}-linux-amd64.tar.gz`;
const cniFile = `cni-plugins-linux-amd64-v${CNI}.tgz`;
const crictlFile = `crictl-v${CRICTL}-linux-amd64.tar.gz`;

const buildMirror = (): void => {
  for (const b of K8S_BINARIES) {
    // kube-apiserver is made large enough to arrive in several chunks, so a broken-off transfer has a middle
    const data = b === 'kube-apiserver' ? `${script(b, K8S) + '#'.repeat(256 * 1024)}\n` : script(b, K8S);
    put(k8sPath(b), data);
    put(`${k8sPath(b)}.sha256`, sha256(data)); // a bare digest, as dl.k8s.io serves it
  }
  const etcd = tarball(
    {
      [`etcd-v${ETCD}-linux-amd64/etcd`]: script('etcd', ETCD),
      [`etcd-v${ETCD}-linux-amd64/etcdctl`]: script('etcdctl', ETCD),
      [`etcd-v${ETCD}-linux-amd64/etcdutl`]: script('etcdutl', ETCD),
    },
    `etcd-v${ETCD}-linux-amd64`,
  );
  put(gh('etcd-io/etcd', `v${ETCD}`, etcdFile), etcd);
  const other = sha256('another asset');
  put(gh('etcd-io/etcd', `v${ETCD}`, 'SHA256SUMS'), `${other}  etcd-v${ETCD}-darwin-arm64.zip\n${sha256(etcd)}  ${etcdFile}\n`);
  const containerd = tarball(
    { 'bin/containerd': script('containerd', CONTAINERD), 'bin/containerd-shim-runc-v2': script('shim', CONTAINERD), 'bin/ctr': script('ctr', CONTAINERD) },
    'bin',
  );
  put(gh('containerd/containerd', `v${CONTAINERD}`, containerdFile), containerd);
  put(gh('containerd/containerd', `v${CONTAINERD}`, `${containerdFile}.sha256sum`), `${sha256(containerd)}  ${containerdFile}\n`);
  const runc = script('runc', RUNC);
  put(gh('opencontainers/runc', `v${RUNC}`, 'runc.amd64'), runc);
  put(gh('opencontainers/runc', `v${RUNC}`, 'runc.sha256sum'), `${other}  runc.arm64\n${sha256(runc)}  runc.amd64\n`);
  // the plugins at the top level, as ./bridge ...
  const cni = tarball(
    { bridge: script('bridge', CNI), 'host-local': script('host-local', CNI), loopback: script('loopback', CNI), portmap: script('portmap', CNI) },
    '.',
  );
  put(gh('containernetworking/plugins', `v${CNI}`, cniFile), cni);
  put(gh('containernetworking/plugins', `v${CNI}`, `${cniFile}.sha256`), `${sha256(cni)}  ${cniFile}\n`);
  const crictl = tarball({ crictl: script('crictl', CRICTL) }, 'crictl');
  put(gh('kubernetes-sigs/cri-tools', `v${CRICTL}`, crictlFile), crictl);
  put(gh('kubernetes-sigs/cri-tools', `v${CRICTL}`, `${crictlFile}.sha256`), sha256(crictl));
};

interface Seen {
  readonly path: string;
  readonly range?: string;
}
const seen: Seen[] = [];
/** Paths whose next GET sends half the body and closes the connection. */
const breakOff = new Set<string>();
let server: Server;
let base: string;

beforeAll(async () => {
  buildMirror();

  const expectedAuth = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
  server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url!, 'http://x').pathname).replace(/^\/artifacts\//, '');
    seen.push({ path, range: req.headers.range });
    if (req.headers.authorization !== expectedAuth) return void res.writeHead(401).end();
    const file = join(mirror, path);
    if (path.includes('..') || !existsSync(file) || !statSync(file).isFile()) return void res.writeHead(404).end();
    const data = readFileSync(file);
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (range) {
      const from = Number(range[1]);
      if (from >= data.length) return void res.writeHead(416, { 'content-range': `bytes */${data.length}` }).end();
      res.writeHead(206, { 'content-length': data.length - from, 'content-range': `bytes ${from}-${data.length - 1}/${data.length}` });
      return void res.end(data.subarray(from));
    }
    res.writeHead(200, { 'content-length': data.length });
    if (breakOff.delete(path)) {
      // the connection drops a moment later, once the client has had time to write what it got
      res.write(data.subarray(0, Math.floor(data.length / 2)), () => setTimeout(() => res.socket?.destroy(), 1000));
      return;
    }
    res.end(data);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  base = `http://${USER}:${PASSWORD}@127.0.0.1:${port}/artifacts`;
  writeFileSync(
    inventory,
    [
      'cluster:',
      '  name: fetchtest',
      `  kubernetesVersion: "${K8S}"`,
      `  etcdVersion: "${ETCD}"`,
      'hosts:',
      '  - { name: aio, address: 127.0.4.81, roles: [etcd, master, node] }',
      '',
    ].join('\n'),
  );
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

// The server runs in this process, so the command must run in the background (spawnSync would block it).
const fetch = async (...extra: string[]): Promise<CliResult> => {
  const r = await startKubeinstall(['binaries', 'fetch', '-i', inventory, '--mirror', base, ...extra]).done;
  expect(r.out + r.err).not.toContain(PASSWORD);
  return r;
};
const installed = (name: string): string => readFileSync(join(dest, name), 'utf8');

describe('kubeinstall binaries fetch', () => {
  it('fetches every binary of every role, verifies each, writes SHA256SUMS, and resumes a download that broke off', async () => {
    breakOff.add(k8sPath('kube-apiserver'));
    seen.length = 0;
    const r = await fetch();
    expect(r.code, r.err).toBe(0);
    const flat = ['containerd', 'containerd-shim-runc-v2', 'crictl', 'ctr', 'etcd', 'etcdctl', ...K8S_BINARIES, 'runc'];
    for (const b of flat) expect(statSync(join(dest, b)).mode & 0o777, b).toBe(0o755);
    expect(installed('kubelet')).toBe(script('kubelet', K8S));
    expect(installed('etcdctl')).toBe(script('etcdctl', ETCD));
    expect(installed('containerd-shim-runc-v2')).toBe(script('shim', CONTAINERD));
    expect(installed('cni/bridge')).toBe(script('bridge', CNI));
    expect(readdirSync(dest).sort()).toEqual([...flat, '.downloads', 'SHA256SUMS', 'cni'].sort());
    // the real sha256sum agrees with every line
    expect(execFileSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: dest, encoding: 'utf8' })).toContain('cni/loopback: OK');
    expect(readFileSync(join(dest, 'SHA256SUMS'), 'utf8').trim().split('\n')).toHaveLength(flat.length + CNI_PLUGINS.length);
    // the broken-off transfer was resumed where it stopped, not restarted
    const resumed = seen.filter((s) => s.path === k8sPath('kube-apiserver'));
    expect(resumed).toHaveLength(2);
    expect(resumed[1]!.range).toMatch(/^bytes=[1-9]\d*-$/);
    expect(r.err).toMatch(/^kube-apiserver-v1\.34\.2-linux-amd64: (\d+)\/\1 bytes \(resumed at \d+\), sha256 verified$/m);
    expect(r.err).toMatch(/^kubelet-v1\.34\.2-linux-amd64: 33\/33 bytes, sha256 verified$/m);
    expect(r.err).toContain(`from http://127.0.0.1:`);
  });

  it('downloads nothing on a re-run: every file is already there and verified', async () => {
    seen.length = 0;
    const r = await fetch();
    expect(r.code, r.err).toBe(0);
    expect(
      seen.every((s) => /\.sha256(sum)?$|SHA256SUMS$/.test(s.path)),
      JSON.stringify(seen),
    ).toBe(true);
    expect(r.err).toMatch(/^etcd-v3\.5\.21-linux-amd64\.tar\.gz: already there, sha256 verified$/m);
  });

  it("makes plan show the binaries' hashes", async () => {
    const r = await startKubeinstall(['plan', '-i', inventory, '-o', 'json']).done;
    expect(r.err).not.toContain('binaries fetch');
    const files = JSON.parse(r.out).hosts[0].files as { path: string; sha256: string }[];
    expect(files.find((f) => f.path === '/usr/local/bin/kubelet')?.sha256).toBe(sha256(script('kubelet', K8S)));
  });

  it('refuses a file whose checksum does not match, naming it and both hashes, and leaves nothing under its name', async () => {
    const good = readFileSync(join(mirror, k8sPath('kubelet')));
    const bad = script('kubelet', '6.6.6');
    writeFileSync(join(mirror, k8sPath('kubelet')), bad);
    rmSync(join(dest, 'kubelet'));
    try {
      const r = await fetch();
      expect(r.code).toBe(1);
      expect(r.err).toContain(`kubelet-v1.34.2-linux-amd64: sha256 mismatch: expected ${sha256(good)}, got ${sha256(bad)}`);
      expect(existsSync(join(dest, 'kubelet'))).toBe(false);
      expect(readdirSync(join(dest, '.downloads')).filter((f) => f.startsWith('kubelet'))).toEqual([]);
      expect(installed('kube-proxy')).toBe(script('kube-proxy', K8S)); // the others are untouched
    } finally {
      writeFileSync(join(mirror, k8sPath('kubelet')), good);
    }
  });

  it('fails with exit 1 on a file the mirror does not have, naming the URL without its credentials', async () => {
    const runc = join(mirror, gh('opencontainers/runc', `v${RUNC}`, 'runc.amd64'));
    const data = readFileSync(runc);
    rmSync(runc);
    rmSync(join(dest, 'runc'));
    try {
      const r = await fetch();
      expect(r.code).toBe(1);
      expect(r.err).toMatch(new RegExp(`HTTP 404 for http://127\\.0\\.0\\.1:\\d+/artifacts/opencontainers/runc/releases/download/v${RUNC}/runc\\.amd64`));
      expect(r.err).toContain('1 download failed');
      expect(existsSync(join(dest, 'runc'))).toBe(false);
    } finally {
      writeFileSync(runc, data);
    }
    expect((await fetch()).code).toBe(0);
    expect(installed('runc')).toBe(script('runc', RUNC));
  });

  it('resumes a partial download an earlier run left behind', async () => {
    const data = readFileSync(join(mirror, k8sPath('kube-apiserver')));
    rmSync(join(dest, 'kube-apiserver'));
    writeFileSync(join(dest, '.downloads', `kube-apiserver-v${K8S}-linux-amd64.part`), data.subarray(0, 1000));
    seen.length = 0;
    const r = await fetch();
    expect(r.code, r.err).toBe(0);
    expect(seen.find((s) => s.path === k8sPath('kube-apiserver'))?.range).toBe('bytes=1000-');
    expect(readFileSync(join(dest, 'kube-apiserver'))).toEqual(data);
  });

  it.each([
    [
      'crictl',
      'a symlinked file',
      (stage: string, outside: string) => execFileSync('ln', ['-s', join(outside, 'crictl'), join(stage, 'crictl')]),
      'file crictl',
      crictlFile,
      'crictl',
    ],
    [
      'etcd',
      'a symlinked folder',
      (stage: string, outside: string) => execFileSync('ln', ['-s', outside, join(stage, `etcd-v${ETCD}-linux-amd64`)]),
      `file etcd-v${ETCD}-linux-amd64/etcd`,
      etcdFile,
      'etcd',
    ],
  ] as const)(
    'installs nothing an archive reaches through a symlink (%s: %s), even with a matching checksum',
    async (_name, _what, plant, named, file, installedName) => {
      const repo = file === crictlFile ? ['kubernetes-sigs/cri-tools', `v${CRICTL}`] : ['etcd-io/etcd', `v${ETCD}`];
      const path = gh(repo[0]!, repo[1]!, file);
      const sumsPath = file === crictlFile ? `${path}.sha256` : gh(repo[0]!, repo[1]!, 'SHA256SUMS');
      const [good, goodSums] = [readFileSync(join(mirror, path)), readFileSync(join(mirror, sumsPath))];
      const outside = mkdtempSync(join(work, 'outside-'));
      writeFileSync(join(outside, installedName), 'not from the archive\n');
      writeFileSync(join(outside, 'etcdctl'), 'not from the archive\n');
      const stage = mkdtempSync(join(work, 'evil-'));
      plant(stage, outside);
      execFileSync('tar', ['-czf', `${stage}.tgz`, '-C', stage, '.']);
      const evil = readFileSync(`${stage}.tgz`);
      put(path, evil);
      put(sumsPath, `${sha256(evil)}  ${file}\n`); // a mirror that publishes a matching checksum for it
      rmSync(join(dest, installedName));
      try {
        const r = await fetch();
        expect(r.code).toBe(1);
        expect(r.err).toContain(`${file} has no regular ${named}`);
        expect(existsSync(join(dest, installedName))).toBe(false);
        expect(readFileSync(join(outside, installedName), 'utf8')).toBe('not from the archive\n');
      } finally {
        put(path, good);
        put(sumsPath, goodSums);
        rmSync(join(dest, '.downloads', file), { force: true });
      }
      expect((await fetch()).code).toBe(0);
    },
  );

  it('refuses a mirror that is not http(s) with exit 2, without echoing it', async () => {
    const r = await startKubeinstall(['binaries', 'fetch', '-i', inventory, '--mirror', `ftp://${USER}:${PASSWORD}@127.0.0.1/x`]).done;
    expect(r.code).toBe(2);
    expect(r.err).toContain('--mirror must be an http:// or https:// URL');
    expect(r.err).not.toContain(PASSWORD);
  });
});
