// `kubeinstall plan` as an operator runs it, on an inventory whose PKI comes from `kubeinstall certs`.
// Needs the built command (`npm run build`; `npm ci` runs it through `prepare`).
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kubeinstall } from '../kubeinstall.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_BINARIES } from '../../../src/render/test-fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'kubeinstall-plan-cli-'));
const inventory = join(dir, 'inventory.yaml');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (...args: string[]) => kubeinstall(args);

beforeAll(() => {
  mkdirSync(join(dir, 'binaries'));
  for (const b of ALL_BINARIES) {
    writeFileSync(join(dir, 'binaries', b), `#!/bin/sh\n# stand-in ${b}\n`);
    chmodSync(join(dir, 'binaries', b), 0o755);
  }
  writeFileSync(
    inventory,
    [
      'cluster:',
      '  name: plancli',
      '  kubernetesVersion: "1.35.0"',
      'ssh:',
      '  user: root',
      'hosts:',
      '  - { name: m1, address: 127.0.4.61, roles: [etcd, master] }',
      '  - { name: n1, address: 10.9.0.62, internalAddress: 127.0.4.62, roles: [node] }',
      '',
    ].join('\n'),
  );
});

describe('kubeinstall plan', () => {
  it('before certs has run, lists the files certs makes as not yet available, warns, and exits 0', () => {
    const r = run('plan', '-i', inventory);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^ {2}0644 +- +not yet available +\/etc\/kubernetes\/pki\/ca\.crt \(pki\/ca\.crt: kubeinstall certs\)$/m);
    // the PKI files, and the pod network's CNI config and routes (their subnets are recorded by certs too)
    expect(r.out).toMatch(/^n1 \(127\.0\.4\.62; node\): \d+ files \(7 not yet available\), 3 services$/m);
    expect(r.err).toMatch(/^warning: \d+ PKI files are not yet in .*plancli: kubeinstall certs -i /m);
    const json = JSON.parse(run('plan', '-i', inventory, '-o', 'json').out);
    expect(json.hosts[0].pending).toContainEqual({ path: '/etc/kubernetes/pki/ca.key', mode: '0600', from: 'pki/ca.key', madeBy: 'kubeinstall certs' });
  });

  it("without a binaries folder, shows the binaries' hashes as not yet available, warns, and exits 0", () => {
    const bare = mkdtempSync(join(tmpdir(), 'kubeinstall-plan-bare-'));
    try {
      writeFileSync(join(bare, 'inventory.yaml'), readFileSync(inventory, 'utf8'));
      const r = run('plan', '-i', join(bare, 'inventory.yaml'));
      expect(r.code, r.err).toBe(0);
      expect(r.out).toMatch(/^ {2}0755 +- +not yet available +\/usr\/local\/bin\/kubectl \(binary kubectl: kubeinstall binaries fetch\)$/m);
      expect(r.err).toContain(`warning: 12 binaries are not yet in ${join(bare, 'binaries')} (containerd, containerd-shim-runc-v2, ctr, etcd, etcdctl,`);
      expect(readdirSync(bare)).toEqual(['inventory.yaml']); // nothing written beside it
    } finally {
      rmSync(bare, { recursive: true, force: true });
    }
  });

  it('lists the binaries each role needs in its help, kubectl included', () => {
    const help = run('plan', '--help').out;
    expect(help).toMatch(/^ {2}master: +kube-apiserver, kube-controller-manager, kube-scheduler, kubectl$/m);
    expect(help).toMatch(/^ {2}node: +containerd, containerd-shim-runc-v2, runc, ctr, kubelet, kube-proxy$/m);
  });

  it("prints every host's files and services, as a table and as JSON", () => {
    expect(run('certs', '-i', inventory).code).toBe(0);
    const table = run('plan', '-i', inventory);
    expect(table.code, table.err).toBe(0);
    expect(table.out).toMatch(/^n1 \(127\.0\.4\.62; node\): \d+ files, 4 services$/m);
    expect(table.out).toMatch(/^ {2}0600 .* \/etc\/kubernetes\/pki\/ca\.key$/m);
    const json = JSON.parse(run('plan', '-i', inventory, '-o', 'json').out);
    const n1 = json.hosts.find((h: { name: string }) => h.name === 'n1');
    const kubelet = n1.files.find((f: { path: string }) => f.path === '/usr/local/bin/kubelet');
    expect(kubelet).toMatchObject({ mode: '0755', owner: 'root:root', size: statSync(join(dir, 'binaries/kubelet')).size });
    expect(kubelet.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(n1.services.map((s: { unit: string }) => s.unit)).toEqual([
      'containerd.service',
      'kubelet.service',
      'kube-proxy.service',
      'kubeinstall-pod-routes.service',
    ]);
  });

  it("writes each host's tree with the planned modes", () => {
    const out = join(dir, 'tree');
    expect(run('plan', '-i', inventory, '--write', out).code).toBe(0);
    const key = join(out, 'hosts/m1/etc/kubernetes/pki/ca.key');
    expect(statSync(key).mode & 0o777).toBe(0o600);
    expect(readFileSync(key, 'utf8')).toMatch(/PRIVATE KEY/);
    expect(lstatSync(join(out, 'hosts/n1/usr/local/bin/kubelet')).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(out, 'hosts/n1/var/lib/kubelet/config.yaml'), 'utf8')).toContain('address: "127.0.4.62"');
    expect(readFileSync(join(out, 'manifests/cluster-admins.yaml'), 'utf8')).toContain('kubeadm:cluster-admins');
  });

  it('writes into its own folder again, and refuses a folder that holds anything else', () => {
    const out = join(dir, 'tree');
    expect(run('plan', '-i', inventory, '--write', out).code).toBe(0);
    const foreign = join(dir, 'foreign');
    mkdirSync(foreign);
    writeFileSync(join(foreign, 'notes.txt'), 'mine\n');
    const r = run('plan', '-i', inventory, '--write', foreign);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`--write: ${foreign} is not empty and was not written by kubeinstall`);
    expect(readdirSync(foreign)).toEqual(['notes.txt']);
  });

  it('does not write through a symlink planted in its folder, and names it', () => {
    const out = join(dir, 'tree');
    const outside = join(dir, 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, 'passwd'), 'root:x:0:0\n');
    const planted = [
      [join(out, 'hosts/n1/etc'), outside], // a folder on the way
      [join(out, 'hosts/m1/etc/kubernetes/pki/ca.key'), join(outside, 'passwd')], // a file
    ];
    for (const [link, target] of planted) {
      rmSync(link!, { recursive: true, force: true });
      symlinkSync(target!, link!);
      const r = run('plan', '-i', inventory, '--write', out);
      expect(readdirSync(outside)).toEqual(['passwd']);
      expect(readFileSync(join(outside, 'passwd'), 'utf8')).toBe('root:x:0:0\n');
      expect(r.code).toBe(1);
      expect(r.err).toContain(`error: ${link} is a symlink; plan --write does not write through symlinks`);
      rmSync(link!);
    }
    expect(run('plan', '-i', inventory, '--write', out).code).toBe(0);
  });

  it('suggests no world-writable folder in its help', () => {
    expect(run('plan', '--help').out).not.toContain('/tmp');
  });

  it('shows a binary a role needs and the folder lacks as not yet available, with a warning naming it', () => {
    rmSync(join(dir, 'binaries/kube-proxy'));
    const r = run('plan', '-i', inventory);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^ {2}0755 +- +not yet available +\/usr\/local\/bin\/kube-proxy \(binary kube-proxy: kubeinstall binaries fetch\)$/m);
    expect(r.err).toContain(`warning: 1 binary is not yet in ${join(dir, 'binaries')} (kube-proxy)`);
  });
});
