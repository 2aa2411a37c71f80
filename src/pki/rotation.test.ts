import { createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadInventoryText } from '../inventory/load.js';
import { parseKubeconfig } from '../kubeconfig/kubeconfig.js';
import { readClusterFiles } from '../render/load.js';
import { buildClusterPlan } from '../render/plan.js';
import { ALL_BINARIES, binaryIndexFor } from '../render/test-fixtures.js';
import { UsageError } from '../util/errors.js';
import { generatePki } from './generate.js';
import { parsePrivateKey } from './keys.js';
import { nextRotationAction, parseCaNames, ROTATION_STATE_FILE, rotationCaFiles, type RotationRequest } from './rotation.js';
import { expandPki } from './specs.js';
import { finishRotation, markRotationRolled, readRotationState } from './store.js';
import { verifyPki } from './verify.js';

const model = loadInventoryText(
  `
cluster:
  name: t
  keyAlgorithm: ecdsa-p256
hosts:
  - { name: m1, address: 127.0.3.1, roles: [etcd, master, node] }
  - { name: n1, address: 127.0.3.11, roles: [node] }
`,
  '/x/inventory.yaml',
).model;
const plan = expandPki(model);

let dir: string;
const read = (path: string): Promise<string> => readFile(join(dir, path), 'utf8');
const exists = (path: string): Promise<boolean> =>
  stat(join(dir, path)).then(
    () => true,
    () => false,
  );
const pems = (text: string): string[] => text.match(/-----BEGIN [A-Z ]+-----[^-]+-----END [A-Z ]+-----\n/g) ?? [];
const request = (step: RotationRequest['step'], cas = parseCaNames('kubernetes,etcd')): RotationRequest => ({
  step,
  cas,
  serviceAccount: true,
  startedAt: '2026-12-01T00:00:00.000Z',
});
/** Writes a step, then records it rolled out, as `certs rotate-ca` does after its deploy. */
const step = async (n: RotationRequest['step']) => {
  const report = await generatePki(model, dir, { rotation: request(n) });
  await markRotationRolled(dir, (await readRotationState(dir))!);
  return report;
};
const verifiedBy = (certPem: string, caPem: string): boolean => new X509Certificate(certPem).verify(new X509Certificate(caPem).publicKey);
/** A token's signature over some bytes, checked as the API server does: any key of `--service-account-key-file`. */
const tokenVerifies = (signedBy: KeyObject, saPub: string): boolean => {
  const data = Buffer.from('header.payload');
  const signature = sign('sha256', data, signedBy);
  return pems(saPub).some((pem) => verify('sha256', data, createPublicKey(pem), signature));
};
const allOk = async () => (await verifyPki(dir, plan, { warnWithinDays: 0, checkInventory: true })).filter((r) => r.status !== 'ok');

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kubeinstall-rotate-'));
  await generatePki(model, dir);
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

describe('CA rotation, step by step', () => {
  it('step 1 adds the new CAs beside the signers: bundles of both everywhere, no leaf re-issued, sa.pub holds both keys', async () => {
    const [oldCa, oldApiserver, oldSaKey] = await Promise.all([read('pki/ca.crt'), read('pki/apiserver.crt'), read('pki/sa.key')]);
    const report = await step(1);
    expect(report.certs.filter((c) => c.outcome !== 'kept')).toEqual([]);
    expect(await read('pki/ca.crt')).toBe(oldCa);
    expect(await read('pki/apiserver.crt')).toBe(oldApiserver);
    const newCa = await read(rotationCaFiles('ca').crt);
    expect(newCa).not.toBe(oldCa);
    expect((await stat(join(dir, rotationCaFiles('ca').key))).mode & 0o777).toBe(0o600);
    expect(await exists(rotationCaFiles('front-proxy-ca').crt)).toBe(false); // not asked for
    expect(parseKubeconfig(await read('kubeconfigs/admin.conf')).caPem).toBe(oldCa + newCa);
    expect(pems(await read('pki/sa.pub'))).toHaveLength(2);
    expect(tokenVerifies(parsePrivateKey(oldSaKey)!, await read('pki/sa.pub'))).toBe(true);
    expect(await allOk()).toEqual([]);
    // a plain `certs` run in the middle of a rotation keeps it as it is
    expect((await generatePki(model, dir)).written).toEqual([]);
  });

  it('steps go in order, each after the last was rolled out; --force-ca waits for the rotation to finish', async () => {
    await expect(generatePki(model, dir, { rotation: request(2) })).rejects.toThrow(/no CA rotation is in progress/);
    await generatePki(model, dir, { rotation: request(1) });
    await expect(generatePki(model, dir, { rotation: request(2) })).rejects.toThrow(/at step 1 .*not yet rolled out: step 2 cannot be written now/);
    await expect(generatePki(model, dir, { forceCa: true })).rejects.toThrow(UsageError);
    expect(nextRotationAction((await readRotationState(dir))!)).toEqual({ roll: 1 });
  });

  it('step 2 makes the new CA the signer and re-issues every leaf under it; the old CA stays trusted, its key goes', async () => {
    const [oldCa, oldEtcdCa, oldFrontProxy, oldSaKey] = await Promise.all([
      read('pki/ca.crt'),
      read('pki/etcd/ca.crt'),
      read('pki/front-proxy-client.crt'),
      read('pki/sa.key'),
    ]);
    await step(1);
    const newCa = await read(rotationCaFiles('ca').crt);
    const report = await step(2);
    expect(await read('pki/ca.crt')).toBe(newCa);
    expect(await read(rotationCaFiles('ca').crt)).toBe(oldCa);
    expect(await read(rotationCaFiles('etcd-ca').crt)).toBe(oldEtcdCa);
    expect(await exists(rotationCaFiles('ca').key)).toBe(false);
    const reissued = report.certs.filter((c) => c.outcome === 'reissued').map((c) => c.id);
    expect(reissued).toContain('apiserver');
    expect(reissued).toContain('etcd-peer/m1');
    expect(reissued).toContain('kubelet-client/n1');
    // the front-proxy CA was not rotated: its client certificate stays
    expect(await read('pki/front-proxy-client.crt')).toBe(oldFrontProxy);
    expect(verifiedBy(await read('pki/apiserver.crt'), newCa)).toBe(true);
    expect(verifiedBy(await read('pki/apiserver.crt'), oldCa)).toBe(false);
    const admin = parseKubeconfig(await read('kubeconfigs/admin.conf'));
    expect(admin.caPem).toBe(newCa + oldCa);
    expect(verifiedBy(admin.certPem, newCa)).toBe(true);
    // the new sa key signs; tokens of the old one still verify
    expect(await read('pki/sa.key')).not.toBe(oldSaKey);
    expect(tokenVerifies(parsePrivateKey(oldSaKey)!, await read('pki/sa.pub'))).toBe(true);
    expect(tokenVerifies(parsePrivateKey(await read('pki/sa.key'))!, await read('pki/sa.pub'))).toBe(true);
    expect(await allOk()).toEqual([]);
  });

  it('step 3 drops the old CAs and the old sa key everywhere; finishing leaves no rotation behind', async () => {
    const [oldCa, oldSaKey] = await Promise.all([read('pki/ca.crt'), read('pki/sa.key')]);
    await step(1);
    await step(2);
    await step(3);
    const ca = await read('pki/ca.crt');
    expect(ca).not.toBe(oldCa);
    expect(parseKubeconfig(await read('kubeconfigs/admin.conf')).caPem).toBe(ca);
    expect(pems(await read('pki/sa.pub'))).toHaveLength(1);
    expect(tokenVerifies(parsePrivateKey(oldSaKey)!, await read('pki/sa.pub'))).toBe(false);
    expect(await exists(rotationCaFiles('ca').crt)).toBe(false);
    expect(await allOk()).toEqual([]);
    expect(nextRotationAction((await readRotationState(dir))!)).toBe('finish');
    await finishRotation(dir);
    expect(await exists(ROTATION_STATE_FILE)).toBe(false);
    expect(await exists('pki/rotation')).toBe(false);
    expect((await generatePki(model, dir)).written).toEqual([]);
  });

  it('hosts get the trust bundles; the controller-manager signs with the CA alone', async () => {
    await step(1);
    const newCa = await read(rotationCaFiles('ca').crt);
    const cluster = buildClusterPlan(model, readClusterFiles(dir), binaryIndexFor(ALL_BINARIES));
    const m1 = cluster.hosts.find((h) => h.host.name === 'm1')!;
    const file = (path: string) => m1.files.find((f) => f.path === path)!;
    const data = (path: string) => (file(path).content as { data: Buffer }).data.toString();
    expect(pems(data('/etc/kubernetes/pki/ca.crt'))).toEqual([await read('pki/ca.crt'), newCa]);
    expect(pems(data('/etc/kubernetes/pki/etcd/ca.crt'))).toHaveLength(2);
    expect(pems(data('/etc/kubernetes/pki/front-proxy-ca.crt'))).toHaveLength(1);
    expect(data('/etc/kubernetes/pki/ca-signing.crt')).toBe(await read('pki/ca.crt'));
    expect(file('/etc/kubernetes/pki/ca.crt').restarts).toEqual(expect.arrayContaining(['kube-apiserver.service', 'kubelet.service']));
  });
});

describe('--ca', () => {
  it('takes names or all, in one order; anything else is a usage error naming it', () => {
    expect(parseCaNames('etcd,kubernetes')).toEqual(['ca', 'etcd-ca']);
    expect(parseCaNames('all')).toEqual(['ca', 'etcd-ca', 'front-proxy-ca']);
    expect(() => parseCaNames('kubernetes,bogus')).toThrow(/--ca: unknown CA "bogus"/);
    expect(() => parseCaNames('')).toThrow(UsageError);
  });
});
