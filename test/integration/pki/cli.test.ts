// `kubeinstall certs` and `kubeinstall verify-certs` as a user runs them (the built command): output,
// exit codes, and nothing secret on the terminal. Needs `npm run build` (npm test does it).
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kubeinstall } from '../kubeinstall.js';
import { afterAll, describe, expect, it } from 'vitest';

const root = mkdtempSync(join(tmpdir(), 'kubeinstall-pki-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const inventory = join(root, 'inventory.yaml');
writeFileSync(
  inventory,
  `cluster:
  name: demo
  keyAlgorithm: ecdsa-p256
hosts:
  - { name: m1, address: 127.0.3.97, roles: [etcd, master] }
  - { name: n1, address: 127.0.3.98, roles: [node] }
`,
);
const dir = join(root, 'demo'); // the default cluster folder: named after the cluster, next to the inventory

const run = (...args: string[]) => kubeinstall(args);

describe('kubeinstall certs and verify-certs', () => {
  it('creates the PKI in the cluster folder, then keeps all of it on a re-run', () => {
    const first = run('certs', '-i', inventory);
    expect(first.code, first.err).toBe(0);
    expect(first.out).toContain(
      'created: ca, front-proxy-ca, etcd-ca, apiserver, apiserver-kubelet-client, front-proxy-client, apiserver-etcd-client, ' +
        'etcd-healthcheck-client, etcd-server, etcd-peer, kubelet-client (2), kubelet-server (2), ' +
        'admin, super-admin, kube-proxy, controller-manager, scheduler\n',
    );
    expect(first.out).toContain('wrote the Secrets encryption key pki/encryption.key\n');
    expect(first.out).toMatch(/^19 created, 0 kept, 0 re-issued; 38 files written under .*demo$/m);
    const again = run('certs', '-i', inventory);
    expect(again.out).toMatch(/^kept: ca, front-proxy-ca, .*, scheduler$/m);
    expect(again.out).toContain(`\n0 created, 19 kept, 0 re-issued; 0 files written under ${dir}\n`);
    expect(again.out).not.toContain('encryption key');
  });

  it('reports a clean PKI in a table and in JSON, with or without the inventory', () => {
    const table = run('verify-certs', '-i', inventory);
    expect(table.code, table.err).toBe(0);
    expect(table.out).toMatch(/^CERTIFICATE\s+EXPIRES\s+RESIDUAL TIME\s+CERTIFICATE AUTHORITY\s+STATUS$/m);
    expect(table.out).toMatch(/^etcd-server\/m1\s+\w{3} \d\d, \d{4} \d\d:\d\d UTC\s+364d\s+etcd-ca\s+ok$/m);
    expect(table.out).toMatch(/^ca\s+.*\s+9y\s+no\s+ok$/m);
    const json = run('verify-certs', '--dir', dir, '-o', 'json');
    expect(json.code).toBe(0);
    const rows = JSON.parse(json.out) as { name: string; status: string }[];
    expect(rows.map((r) => r.status)).toEqual(rows.map(() => 'ok'));
    expect(rows.map((r) => r.name)).toContain('kubeconfigs/nodes/n1/kubelet.conf');
  });

  it('exits 1 when a certificate expires within --warn-within', () => {
    const r = run('verify-certs', '-i', inventory, '--warn-within', '400');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^apiserver\s.*\sexpiring$/m);
  });

  it('exits 1 on a tampered file, naming it, and certs then re-issues it', () => {
    copyFileSync(join(dir, 'pki/front-proxy-client.key'), join(dir, 'pki/apiserver.key'));
    const r = run('verify-certs', '-i', inventory);
    expect(r.code).toBe(1);
    expect(r.out).toContain('  apiserver: private key does not match the certificate');
    expect(r.err).toMatch(/1 of 22 entries under .* need attention: apiserver \(invalid\)/);
    expect(run('certs', '-i', inventory).out).toContain('re-issued apiserver: private key does not match the certificate');
    expect(run('verify-certs', '-i', inventory).code).toBe(0);
  });

  it('will not replace the CAs unconfirmed, and changes nothing', () => {
    const ca = readFileSync(join(dir, 'pki/ca.crt'), 'utf8');
    const r = run('certs', '-i', inventory, '--force-ca');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--force-ca replaces every CA [\s\S]* only with --yes/);
    expect(readFileSync(join(dir, 'pki/ca.crt'), 'utf8')).toBe(ca);
    const yes = run('certs', '-i', inventory, '--force-ca', '--yes');
    expect(yes.code).toBe(0);
    expect(yes.out).toContain('re-issued ca: replaced (--force-ca)');
    expect(readFileSync(join(dir, 'pki/ca.crt'), 'utf8')).not.toBe(ca);
  });

  it('names the missing inventory or PKI folder', () => {
    const noInventory = run('certs', '-i', join(root, 'nope.yaml'));
    expect(noInventory.code).toBe(2);
    expect(noInventory.err).toContain('nope.yaml');
    const noPki = run('verify-certs', '--dir', join(root, 'empty'));
    expect(noPki.code).toBe(1);
    expect(noPki.err).toMatch(/no PKI under .*empty/);
  });

  it('certs renew: nothing due now; due a year on (KUBEINSTALL_NOW), every leaf renewed and the roll named; bad targets exit 2', () => {
    const none = run('certs', 'renew', '-i', inventory);
    expect(none.code, none.err).toBe(0);
    expect(none.out).toMatch(/^0 created, 19 kept, 0 re-issued; 0 files written under /m);
    expect(none.out).toContain('nothing to roll: no file a host holds changed\n');
    const later = kubeinstall(['certs', 'renew', '-i', inventory], { KUBEINSTALL_NOW: '+400d' });
    expect(later.code, later.err).toBe(0);
    expect(later.out).toMatch(/^re-issued kubelet-server\/n1: renewed: expires \S+, within 30 days$/m);
    expect(later.out).toMatch(/^0 created, 3 kept, 16 re-issued;/m);
    expect(later.out).toMatch(/^ {2}n1: kubelet\.service, kube-proxy\.service \(4 files\)$/m);
    expect(kubeinstall(['verify-certs', '-i', inventory], { KUBEINSTALL_NOW: '+400d' }).code).toBe(0);
    for (const args of [['ca'], ['--all', 'apiserver'], ['--within', 'soon'], ['--force-ca']]) {
      const bad = run('certs', 'renew', '-i', inventory, ...args);
      expect([args.join(' '), bad.code]).toEqual([args.join(' '), 2]);
    }
    expect(run('certs', 'renew', 'etcd-server/m9', '-i', inventory).err).toMatch(/no leaf certificate named etcd-server\/m9; known: apiserver, /);
  });
});
