import { chmod, copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadInventoryText } from '../inventory/load.js';
import { generatePki } from './generate.js';
import { expandPki } from './specs.js';
import { verifyPki, type VerifyRow } from './verify.js';

const inventory = (extraSans: string, m1: string) => `
cluster: { name: t, keyAlgorithm: ecdsa-p256, apiServerExtraSans: [${extraSans}] }
hosts:
  - { name: m1, address: ${m1}, roles: [etcd, master] }
  - { name: n1, address: 127.0.3.11, roles: [node] }
`;
const model = loadInventoryText(inventory('k8s.example.com', '127.0.3.1'), '/x/inventory.yaml').model;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kubeinstall-verify-'));
  await generatePki(model, dir);
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

const check = (warnWithinDays = 30): Promise<VerifyRow[]> => verifyPki(dir, expandPki(model), { warnWithinDays, checkInventory: true });
const problemsOf = (rows: VerifyRow[]): Record<string, readonly string[]> =>
  Object.fromEntries(rows.filter((r) => r.status !== 'ok').map((r) => [r.name, r.problems]));

describe('verifyPki', () => {
  it('finds nothing wrong in a fresh PKI, and flags everything as expiring inside the threshold', async () => {
    expect(problemsOf(await check())).toEqual({});
    const rows = await check(400);
    expect(rows.filter((r) => r.status === 'expiring').length).toBe(rows.filter((r) => r.kind === 'certificate' || r.kind === 'kubeconfig').length);
  });

  it('accepts SANs beyond what the inventory needs, and names the ones it lacks', async () => {
    const moved = loadInventoryText(inventory('', '127.0.3.2'), '/x/inventory.yaml').model;
    const rows = await verifyPki(dir, expandPki(moved), { warnWithinDays: 30, checkInventory: true });
    expect(problemsOf(rows)).toMatchObject({
      apiserver: ['IP SANs differ: missing 127.0.3.2'],
      'etcd-server/m1': ['IP SANs differ: missing 127.0.3.2'],
      'etcd-peer/m1': ['IP SANs differ: missing 127.0.3.2'],
    });
  });

  it('reports swapped keys, a cert from the wrong CA, a truncated PEM and a loose key mode, without crashing', async () => {
    const p = (f: string): string => join(dir, 'pki', f);
    const [apiserverKey, proxyKey] = await Promise.all([readFile(p('apiserver.key')), readFile(p('front-proxy-client.key'))]);
    await writeFile(p('apiserver.key'), proxyKey);
    await writeFile(p('front-proxy-client.key'), apiserverKey);
    await copyFile(p('etcd/healthcheck-client.crt'), p('apiserver-kubelet-client.crt'));
    const server = await readFile(p('etcd/members/m1/server.crt'), 'utf8');
    await writeFile(p('etcd/members/m1/server.crt'), server.slice(0, server.length / 2));
    await chmod(p('kubelets/n1/kubelet-client.key'), 0o644);
    const admin = join(dir, 'kubeconfigs/admin.conf');
    await writeFile(admin, (await readFile(admin, 'utf8')).replace(/server: .*/, 'server: https://127.0.3.99:6443'));

    expect(problemsOf(await check())).toEqual({
      apiserver: ['private key does not match the certificate'],
      'front-proxy-client': ['private key does not match the certificate'],
      'apiserver-kubelet-client': [
        'CN is "kube-etcd-healthcheck-client", expected "kube-apiserver-kubelet-client"',
        'private key does not match the certificate',
        'not signed by ca (signature does not verify)',
      ],
      'etcd-server/m1': ['pki/etcd/members/m1/server.crt: not a readable PEM certificate (truncated or corrupt)'],
      'kubelet-client/n1': ['pki/kubelets/n1/kubelet-client.key has mode 0644, expected 0600'],
      'kubeconfigs/admin.conf': ['server is https://127.0.3.99:6443, expected https://127.0.3.1:6443'],
    });
  });
});
