import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatePki } from '../pki/generate.js';
import { renewSelector } from '../pki/renew.js';
import { expandPki } from '../pki/specs.js';
import { readClusterFiles } from '../render/load.js';
import { certificatesOn } from '../render/pki-files.js';
import { modelFrom } from '../render/test-fixtures.js';
import type { ClusterFiles } from '../render/types.js';
import { deployedRows, parseCertificatesOutput, readCertificatesScript, verifyDeployed } from './deployed-certs.js';
import { fakeExecutor } from './testing/fake-executor.js';

const sh = promisify(execFile);
const model = modelFrom(
  '  - { name: m1, address: 127.0.12.1, roles: [etcd, master] }\n  - { name: n1, address: 127.0.12.11, roles: [node] }\n',
  '  keyAlgorithm: ecdsa-p256\n',
);
const plan = expandPki(model);
const m1 = model.hosts.find((h) => h.name === 'm1')!;
const n1 = model.hosts.find((h) => h.name === 'n1')!;
const DAY_MS = 86_400_000;
const issuedAt = new Date('2026-01-10T00:00:00Z');

let dir: string;
let deployed: ClusterFiles;
let renewed: ClusterFiles;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kubeinstall-deployed-'));
  await generatePki(model, join(dir, 'cluster'), { now: issuedAt });
  deployed = await readClusterFiles(join(dir, 'cluster'));
  await generatePki(model, join(dir, 'cluster'), { now: issuedAt, renew: renewSelector(plan, { names: ['apiserver', 'kubelet-client'] }) });
  renewed = await readClusterFiles(join(dir, 'cluster'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

/** n1's files as a deploy placed them from `files`, under a folder of this machine. */
const placeUnder = async (root: string, files: ClusterFiles) => {
  const placed = certificatesOn(plan, n1).map((p) => ({ ...p, to: join(root, p.to) }));
  for (const p of placed) {
    await mkdir(dirname(p.to), { recursive: true });
    await writeFile(p.to, files.get(p.from)!);
  }
  return placed;
};

describe('verify-certs --remote', () => {
  it('lists what each role holds: a master its CAs, leaves and kubeconfigs (ca.crt once), a node its own', () => {
    expect(certificatesOn(plan, n1).map((p) => [p.id, p.to])).toEqual([
      ['ca', '/etc/kubernetes/pki/ca.crt'],
      ['kubelet-client/n1', '/etc/kubernetes/kubelet.conf'],
      ['kubelet-server/n1', '/var/lib/kubelet/pki/kubelet.crt'],
      ['kube-proxy', '/var/lib/kube-proxy/kubeconfig'],
    ]);
    const onMaster = certificatesOn(plan, m1).map((p) => p.to);
    expect(onMaster.filter((t) => t === '/etc/kubernetes/pki/ca.crt')).toHaveLength(1);
    expect(certificatesOn(plan, m1).map((p) => p.id)).toEqual(expect.arrayContaining(['etcd-server/m1', 'apiserver', 'controller-manager/m1', 'admin']));
  });

  it('the script reads .crt files and only the client certificate of a kubeconfig (run here by sh), a missing file said so', async () => {
    const root = join(dir, 'host');
    const placed = await placeUnder(root, deployed);
    await rm(placed.find((p) => p.id === 'kube-proxy')!.to);
    const { stdout } = await sh('sh', ['-c', readCertificatesScript(placed)]);
    expect(stdout).not.toContain('PRIVATE KEY');
    const got = parseCertificatesOutput(stdout);
    expect([...got.keys()]).toEqual(placed.map((p) => p.to));
    const rows = deployedRows('n1', placed, got, renewed, { now: new Date(issuedAt.getTime() + DAY_MS), warnWithinDays: 30 });
    expect(rows.map((r) => [r.host, r.name, r.status])).toEqual([
      ['n1', 'ca', 'ok'],
      ['n1', 'kubelet-client/n1', 'invalid'],
      ['n1', 'kubelet-server/n1', 'ok'],
      ['n1', 'kube-proxy', 'invalid'],
    ]);
    expect(rows[1]!.problems).toEqual([
      expect.stringMatching(/^differs from the cluster folder's kubeconfigs\/nodes\/n1\/kubelet\.conf \(serial \w+ here, \w+ there\)$/),
    ]);
    expect(rows[3]!.problems).toEqual(['missing on the host']);
  });

  it('400 days on: every leaf expired, the CA fine; within the window: expiring', async () => {
    const placed = certificatesOn(plan, n1);
    const got = new Map(placed.map((p) => [p.to, p.embedded ? undefined : deployed.get(p.from)!.toString()]));
    const later = deployedRows('n1', placed, got, deployed, { now: new Date(issuedAt.getTime() + 400 * DAY_MS), warnWithinDays: 30 });
    expect(later.map((r) => [r.name, r.status, r.problems.join()])).toEqual([
      ['ca', 'ok', ''],
      ['kubelet-client/n1', 'invalid', 'missing on the host'],
      ['kubelet-server/n1', 'invalid', expect.stringMatching(/^expired on 2027-01-10T/)],
      ['kube-proxy', 'invalid', 'missing on the host'],
    ]);
    const soon = deployedRows('n1', placed.slice(2, 3), got, deployed, { now: new Date(issuedAt.getTime() + 350 * DAY_MS), warnWithinDays: 30 });
    expect(soon.map((r) => r.status)).toEqual(['expiring']);
  });

  it('reads every host through the executor; a host that does not answer gets one row saying why', async () => {
    const stdoutFor = (host: typeof m1) =>
      certificatesOn(plan, host)
        .map((p) => `### kubeinstall ${p.to}\n${p.embedded ? '!missing' : deployed.get(p.from)!.toString()}\n`)
        .join('');
    const executor = fakeExecutor({
      exec: [
        { host: 'm1', command: /^echo '### kubeinstall \/etc/, reply: { stdout: stdoutFor(m1) } },
        { host: 'n1', command: /^echo/, reply: { error: new Error('n1: connection refused') } },
      ],
    });
    const rows = await verifyDeployed(model, executor, deployed, { now: issuedAt, warnWithinDays: 30, concurrency: 2 });
    expect(rows.filter((r) => r.host === 'm1' && !r.file.endsWith('.conf') && !r.file.endsWith('kubeconfig')).every((r) => r.status === 'ok')).toBe(true);
    expect(rows.filter((r) => r.host === 'n1')).toEqual([
      expect.objectContaining({ name: '-', status: 'invalid', problems: ['not read: n1: connection refused'] }),
    ]);
    expect(executor.execs('m1')[0]!.opts).toMatchObject({ sudo: true });
  });
});
