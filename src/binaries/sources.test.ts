import { describe, expect, it } from 'vitest';
import { ROLE_BINARIES } from '../render/binaries.js';
import { modelFrom } from '../render/test-fixtures.js';
import { checksumFor } from './fetch.js';
import { artifactsFor, CNI_FOLDER, urlFor } from './sources.js';

const allRoles = modelFrom('  - { name: a, address: 127.0.4.91, roles: [etcd, master, node] }\n', '  etcdVersion: "3.6.5"\n');

describe('the release table', () => {
  it('has a source for every binary of every role, and for crictl and the CNI plugins on nodes', () => {
    const installs = artifactsFor(allRoles, 'amd64').flatMap((a) => a.installs.map((i) => i.to));
    for (const specs of Object.values(ROLE_BINARIES)) for (const b of specs) expect(installs).toContain(b.name);
    expect(installs).toEqual(expect.arrayContaining(['crictl', `${CNI_FOLDER}/`]));
    expect(new Set(installs).size).toBe(installs.length);
  });

  it('fetches only what the roles present need', () => {
    const etcdOnly = modelFrom('  - { name: e, address: 127.0.4.92, roles: [etcd] }\n');
    expect(artifactsFor(etcdOnly, 'arm64').map((a) => a.file)).toEqual(['etcd-v3.5.21-linux-arm64.tar.gz']);
  });

  it('builds the upstream URLs, and a mirror keeps their paths under its own', () => {
    const byFile = new Map(artifactsFor(allRoles, 'arm64').map((a) => [a.file, a]));
    const kubelet = byFile.get('kubelet-v1.34.2-linux-arm64')!;
    expect(urlFor(kubelet.upstream, kubelet.path).href).toBe('https://dl.k8s.io/release/v1.34.2/bin/linux/arm64/kubelet');
    expect(urlFor(kubelet.upstream, kubelet.checksumPath).href).toBe('https://dl.k8s.io/release/v1.34.2/bin/linux/arm64/kubelet.sha256');
    const etcd = byFile.get('etcd-v3.6.5-linux-arm64.tar.gz')!;
    expect(urlFor(etcd.upstream, etcd.checksumPath).href).toBe('https://github.com/etcd-io/etcd/releases/download/v3.6.5/SHA256SUMS');
    const runc = byFile.get('runc-v1.3.3.arm64')!;
    expect([runc.checksumName, urlFor(runc.upstream, runc.path).href]).toEqual([
      'runc.arm64',
      'https://github.com/opencontainers/runc/releases/download/v1.3.3/runc.arm64',
    ]);
    const mirror = new URL('https://store.example.com/k8s/');
    expect(urlFor(etcd.upstream, etcd.path, mirror).href).toBe(
      'https://store.example.com/k8s/etcd-io/etcd/releases/download/v3.6.5/etcd-v3.6.5-linux-arm64.tar.gz',
    );
  });
});

describe('checksumFor', () => {
  const a = 'a'.repeat(64);
  const b = 'B'.repeat(64);
  it('reads a bare digest, and the line of a sha256sum file naming the file (text or binary mode)', () => {
    expect(checksumFor(`${a}\n`, 'kubelet')).toBe(a);
    expect(checksumFor(`${a}  runc.arm64\n${b} *runc.amd64\n`, 'runc.amd64')).toBe('b'.repeat(64));
    expect(checksumFor(`${a}  other.tar.gz\n`, 'etcd.tar.gz')).toBeUndefined();
  });
});
