import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadInventoryText } from '../inventory/load.js';
import { parseKubeconfig } from '../kubeconfig/kubeconfig.js';
import { changedOnHosts } from '../render/pki-files.js';
import { UsageError } from '../util/errors.js';
import { generatePki, type CertsReport } from './generate.js';
import { renewSelector, type RenewTarget } from './renew.js';
import { expandPki } from './specs.js';
import { verifyPki } from './verify.js';
import { parseCertificate } from './x509.js';

const DAY_MS = 86_400_000;
const model = loadInventoryText(
  `
cluster:
  name: t
  keyAlgorithm: ecdsa-p256
hosts:
  - { name: m1, address: 127.0.3.1, roles: [etcd, master] }
  - { name: m2, address: 127.0.3.2, roles: [etcd, master] }
  - { name: n1, address: 127.0.3.11, roles: [node] }
`,
  '/x/inventory.yaml',
).model;
const plan = expandPki(model);
const leaves = plan.certs.filter((c) => c.spec.ca !== 'self').map((c) => c.id);
const cas = plan.certs.filter((c) => c.spec.ca === 'self').map((c) => c.id);
const ids = (r: CertsReport, outcome: string): string[] => r.certs.filter((c) => c.outcome === outcome).map((c) => c.id);

const issuedAt = new Date('2026-01-10T00:00:00Z');
const later = (days: number): Date => new Date(issuedAt.getTime() + days * DAY_MS);
const renew = (target: RenewTarget, now: Date) => generatePki(model, dir, { now, renew: renewSelector(plan, target) });
const crt = async (path: string) => parseCertificate(await readFile(join(dir, path), 'utf8'));

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kubeinstall-renew-'));
  await generatePki(model, dir, { now: issuedAt });
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

describe('certs renew', () => {
  it('400 days later: every leaf is due and re-issued with a new key under the same CAs; kubeconfigs re-rendered; the PKI verifies', async () => {
    const caBefore = await readFile(join(dir, 'pki/ca.crt'), 'utf8');
    const keyBefore = await readFile(join(dir, 'pki/apiserver.key'), 'utf8');
    const adminBefore = parseKubeconfig(await readFile(join(dir, 'kubeconfigs/admin.conf'), 'utf8'));
    const now = later(400);
    const r = await renew({ withinDays: 30 }, now);
    expect(ids(r, 'reissued').sort()).toEqual([...leaves].sort());
    expect(ids(r, 'kept').sort()).toEqual([...cas].sort());
    expect(r.certs.find((c) => c.id === 'apiserver')!.reason).toMatch(/^renewed: expires 2027-01-10T\S+, within 30 days$/);
    expect(await readFile(join(dir, 'pki/ca.crt'), 'utf8')).toBe(caBefore);
    expect(await readFile(join(dir, 'pki/apiserver.key'), 'utf8')).not.toBe(keyBefore);
    const apiserver = await crt('pki/apiserver.crt');
    expect([apiserver.notBefore.getTime(), apiserver.notAfter.getTime()]).toEqual([now.getTime() - 5 * 60_000, now.getTime() + 365 * DAY_MS]);
    const admin = parseKubeconfig(await readFile(join(dir, 'kubeconfigs/admin.conf'), 'utf8'));
    expect(admin.caPem).toBe(adminBefore.caPem);
    expect(admin.keyPem).not.toBe(adminBefore.keyPem);
    expect(parseCertificate(admin.certPem).notAfter.getTime()).toBe(now.getTime() + 365 * DAY_MS);
    const rows = await verifyPki(dir, plan, { now, warnWithinDays: 30, checkInventory: true });
    expect(rows.filter((row) => row.status !== 'ok')).toEqual([]);
  });

  it('within a window: only the leaves due then; a second run renews nothing', async () => {
    expect(ids(await renew({ withinDays: 30 }, later(300)), 'reissued')).toEqual([]);
    const r = await renew({ withinDays: 70 }, later(300));
    expect(ids(r, 'reissued').sort()).toEqual([...leaves].sort());
    const again = await renew({ withinDays: 70 }, later(300));
    expect([ids(again, 'reissued'), again.written]).toEqual([[], []]);
  });

  it('by name: a kind renews every host of it, an id one host; others stay even when expired', async () => {
    const r = await renew({ names: ['etcd-server', 'controller-manager/m2'] }, later(400));
    expect(ids(r, 'reissued').sort()).toEqual(['controller-manager/m2', 'etcd-server/m1', 'etcd-server/m2']);
    expect([...r.written].sort()).toEqual([
      'kubeconfigs/masters/m2/controller-manager.conf',
      'pki/etcd/members/m1/server.crt',
      'pki/etcd/members/m1/server.key',
      'pki/etcd/members/m2/server.crt',
      'pki/etcd/members/m2/server.key',
    ]);
    expect((await crt('pki/etcd/members/m1/peer.crt')).notAfter.getTime()).toBe(later(365).getTime());
  });

  it('--all renews every leaf at any time; a CA or an unknown name is a usage error naming it', async () => {
    expect(ids(await renew({ all: true }, later(1)), 'reissued').sort()).toEqual([...leaves].sort());
    expect(() => renewSelector(plan, { names: ['ca'] })).toThrow(UsageError);
    expect(() => renewSelector(plan, { names: ['ca'] })).toThrow(
      /no leaf certificate named ca \(ca, front-proxy-ca, etcd-ca are CAs: renewing one is a CA rotation/,
    );
    expect(() => renewSelector(plan, { names: ['apiserver', 'etcd-server/m9'] })).toThrow(/no leaf certificate named etcd-server\/m9;/);
  });

  it('refuses to create a missing CA: renewal is for an existing PKI', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'kubeinstall-renew-empty-'));
    try {
      await expect(generatePki(model, empty, { renew: renewSelector(plan, { all: true }) })).rejects.toThrow(
        /no CA pki\/ca\.crt: renewal re-issues leaves only; create the PKI with `kubeinstall certs`/,
      );
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  it('says what deploy restarts where: etcd-server on members only, the admin kubeconfig restarts nothing', async () => {
    const r = await renew({ names: ['etcd-server/m1', 'admin', 'kubelet-client/n1'] }, later(10));
    expect(changedOnHosts(plan, model.hosts, new Set(r.written))).toEqual([
      {
        host: 'm1',
        files: ['/etc/kubernetes/pki/etcd/server.crt', '/etc/kubernetes/pki/etcd/server.key', '/etc/kubernetes/admin.conf'],
        restarts: ['etcd.service'],
      },
      { host: 'm2', files: ['/etc/kubernetes/admin.conf'], restarts: [] },
      { host: 'n1', files: ['/etc/kubernetes/kubelet.conf'], restarts: ['kubelet.service'] },
    ]);
  });
});
