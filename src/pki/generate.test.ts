import { mkdir, mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadInventoryText } from '../inventory/load.js';
import { KubeinstallError } from '../util/errors.js';
import { generatePki, type CertsReport } from './generate.js';
import { discoverPlan, verifyPki } from './verify.js';
import { expandPki } from './specs.js';

const inventory = (extraHosts = '', m1 = '127.0.3.1'): string => `
cluster:
  name: t
  keyAlgorithm: ecdsa-p256
hosts:
  - { name: m1, address: ${m1}, roles: [etcd, master] }
  - { name: n1, address: 127.0.3.11, roles: [node] }
${extraHosts}`;
const model = (text: string) => loadInventoryText(text, '/x/inventory.yaml').model;
const outcomes = (r: CertsReport, outcome: string): string[] =>
  r.certs
    .filter((c) => c.outcome === outcome)
    .map((c) => c.id)
    .sort();

let dir: string;
beforeEach(async () => void (dir = await mkdtemp(join(tmpdir(), 'kubeinstall-pki-'))));
afterEach(async () => rm(dir, { recursive: true, force: true }));

describe('generatePki re-runs', () => {
  it('keeps everything when nothing changed, and rewrites no file', async () => {
    const first = await generatePki(model(inventory()), dir);
    expect(outcomes(first, 'kept')).toEqual([]);
    const again = await generatePki(model(inventory()), dir);
    expect(outcomes(again, 'created').concat(outcomes(again, 'reissued'))).toEqual([]);
    expect(again.serviceAccount).toBe('kept');
    expect(again.written).toEqual([]);
  });

  it("issues only the new node's certificates and kubeconfig when a node is added", async () => {
    await generatePki(model(inventory()), dir);
    const before = await readFile(join(dir, 'pki/apiserver.crt'), 'utf8');
    const r = await generatePki(model(inventory('  - { name: n2, address: 127.0.3.12, roles: [node] }')), dir);
    expect(outcomes(r, 'created')).toEqual(['kubelet-client/n2', 'kubelet-server/n2']);
    expect(outcomes(r, 'reissued')).toEqual([]);
    expect([...r.written].sort()).toEqual([
      'kubeconfigs/nodes/n2/kubelet.conf',
      'network/pod-subnets.json', // n2's pod subnet added
      'pki/kubelets/n2/kubelet-client.crt',
      'pki/kubelets/n2/kubelet-client.key',
      'pki/kubelets/n2/kubelet-server.crt',
      'pki/kubelets/n2/kubelet-server.key',
    ]);
    expect(await readFile(join(dir, 'pki/apiserver.crt'), 'utf8')).toBe(before);
  });

  it("re-issues what names a master's address when it changes, saying why", async () => {
    await generatePki(model(inventory()), dir);
    const r = await generatePki(model(inventory('', '127.0.3.2')), dir);
    expect(outcomes(r, 'reissued')).toEqual(['apiserver', 'etcd-peer/m1', 'etcd-server/m1', 'kubelet-server/m1']);
    expect(r.certs.find((c) => c.id === 'apiserver')!.reason).toBe('IP SANs differ: missing 127.0.3.2; unexpected 127.0.3.1');
    // the kubeconfigs follow the new address without new client certificates
    expect(r.written).toEqual(expect.arrayContaining(['kubeconfigs/masters/m1/scheduler.conf', 'kubeconfigs/admin.conf']));
    const rows = await verifyPki(dir, expandPki(model(inventory('', '127.0.3.2'))), { warnWithinDays: 30, checkInventory: true });
    expect(rows.filter((row) => row.status !== 'ok')).toEqual([]);
  });

  it('re-issues a certificate close to expiry', async () => {
    const now = new Date();
    await generatePki(model(inventory()), dir, { now: new Date(now.getTime() - 340 * 86_400_000) });
    const r = await generatePki(model(inventory()), dir, { now });
    expect(outcomes(r, 'reissued')).toContain('apiserver');
    expect(r.certs.find((c) => c.id === 'apiserver')!.reason).toMatch(/^expires within 30 days/);
    expect(outcomes(r, 'kept')).toEqual(['ca', 'etcd-ca', 'front-proxy-ca']);
  });

  it('replaces the CAs and every leaf with --force-ca, and keeps the service-account key', async () => {
    await generatePki(model(inventory()), dir);
    const sa = await readFile(join(dir, 'pki/sa.key'), 'utf8');
    const r = await generatePki(model(inventory()), dir, { forceCa: true });
    expect(outcomes(r, 'kept')).toEqual([]);
    expect(r.certs.find((c) => c.id === 'admin')!.reason).toBe('CA ca was replaced');
    expect(await readFile(join(dir, 'pki/sa.key'), 'utf8')).toBe(sa);
  });

  it('treats a CA without its key as external: keeps its leaves, refuses to issue new ones', async () => {
    await generatePki(model(inventory()), dir);
    await unlink(join(dir, 'pki/etcd/ca.key'));
    const r = await generatePki(model(inventory()), dir);
    expect(outcomes(r, 'reissued')).toEqual([]);
    const rows = await verifyPki(dir, await discoverPlan(dir), { warnWithinDays: 30, checkInventory: false });
    expect(rows.find((row) => row.name === 'etcd-ca')).toMatchObject({ externallyManaged: true, status: 'ok' });
    const grown = model(inventory('  - { name: e2, address: 127.0.3.5, roles: [etcd] }\n  - { name: e3, address: 127.0.3.6, roles: [etcd] }'));
    await expect(generatePki(grown, dir)).rejects.toThrow(
      'cannot issue etcd-server/e2 (new), etcd-server/e3 (new), etcd-peer/e2 (new), etcd-peer/e3 (new): the CA etcd-ca is external',
    );
  });

  it('drops what a run stopped before its journal had staged (it had changed nothing)', async () => {
    await generatePki(model(inventory()), dir);
    const ca = await readFile(join(dir, 'pki/ca.crt'), 'utf8');
    await mkdir(join(dir, '.certs-staging/pki'), { recursive: true });
    await writeFile(join(dir, '.certs-staging/pki/ca.crt'), 'half a certificate');
    const r = await generatePki(model(inventory()), dir);
    expect(r.warnings).toEqual(['discarded the staged files of an interrupted run (it had changed nothing)']);
    expect(outcomes(r, 'kept')).toHaveLength(r.certs.length);
    expect(await readFile(join(dir, 'pki/ca.crt'), 'utf8')).toBe(ca);
    await expect(readdir(join(dir, '.certs-staging'))).rejects.toThrow(/ENOENT/);
  });

  it('refuses a CA key without its certificate, and writes nothing', async () => {
    await writeFile(join(dir, 'stray'), '');
    await generatePki(model(inventory()), dir);
    await unlink(join(dir, 'pki/ca.crt'));
    const error = await generatePki(model(inventory()), dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KubeinstallError);
    expect((error as Error).message).toBe('pki/ca.key exists without pki/ca.crt: restore the certificate or remove the key');
  });
});
