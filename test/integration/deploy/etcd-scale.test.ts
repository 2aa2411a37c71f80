// End to end on the test bed (198.18.51.0/24, real etcd 3.4, stand-ins for Kubernetes): a master, a node
// and an external etcd cluster grown 1 -> 3 -> 5 members by `deploy`, the data kept at each step and
// readable on every member, the API server following; a re-run changes nothing. Then `kubeinstall remove`
// shrinks etcd 5 -> 3, refuses what would lose quorum before changing anything, drains and deletes a
// Node; a deploy that still lists the removed hosts adds them back and says so.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpsRequest } from '../../../src/deploy/api-client.js';
import { parseKubeconfig, type KubeconfigContent } from '../../../src/kubeconfig/kubeconfig.js';
import { ADMIN_KUBECONFIGS } from '../../../src/pki/specs.js';
import { startSetting, TESTBED_DEPLOY_FLAGS, type BedHost, type Setting } from './fixtures.js';

const ETCD: BedHost[] = [1, 2, 3, 4, 5].map((n) => ({ name: `etcd-${n}`, address: `198.18.51.${10 + n}`, roles: ['etcd'] }));
const MASTER: BedHost = { name: 'cp-1', address: '198.18.51.21', roles: ['master'] };
const NODE: BedHost = { name: 'node-1', address: '198.18.51.22', roles: ['node'] };
const withEtcd = (n: number): BedHost[] => [MASTER, NODE, ...ETCD.slice(0, n)];
const endpoint = (h: BedHost): string => `https://${h.address}:2379`;
let s: Setting;

beforeAll(async () => {
  s = await startSetting({ name: 'etcdscale', subnet: '198.18.51.0/24' }, withEtcd(1), { bedOnly: ETCD.slice(1) });
});
afterAll(async () => {
  await s?.stop();
});

const memberNames = async (via: BedHost = ETCD[0]!): Promise<string[]> =>
  (await s.etcdctl([endpoint(via)], 'member', 'list'))
    .trim()
    .split('\n')
    .map((l) => l.split(', ')[2]!)
    .sort();

/** Every key written so far, read on each member of `hosts` (a linearizable read through that member). */
const written = new Map<string, string>();
const expectDataOnEvery = async (hosts: readonly BedHost[]): Promise<void> => {
  for (const h of hosts)
    for (const [key, value] of written) expect(await s.etcdctl([endpoint(h)], 'get', '--print-value-only', key), `${key} on ${h.name}`).toBe(`${value}\n`);
};
const put = async (h: BedHost, key: string, when: string): Promise<void> => {
  written.set(key, `written on ${h.name} ${when}`);
  await s.etcdctl([endpoint(h)], 'put', key, written.get(key)!);
};

/** The CLI as an operator runs it, off a terminal. */
const cli = (...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, [join(__dirname, '../../../bin/kubeinstall'), ...args, '-i', s.inventory], { env: { ...process.env, CI: 'true' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });

const unitState = async (host: string, unit: string): Promise<string> =>
  (await s.tb.hostExec(host, `echo $(systemctl is-active ${unit}) $(systemctl is-enabled ${unit})`, { allowFailure: true })).stdout.trim();
/** After `remove`, the host is reset: the unit stopped and its file gone, as `kubeinstall reset` leaves it. */
const expectReset = async (host: string, unit: string): Promise<void> => {
  expect(await unitState(host, unit), `${host} ${unit}`).toMatch(/^inactive( not-found)?$/);
  expect((await s.tb.hostExec(host, `test -e /etc/systemd/system/${unit} || test -e /var/lib/kubeinstall/file-hashes`, { allowFailure: true })).code).not.toBe(
    0,
  );
};

let admin: KubeconfigContent;
const api = async (method: string, path: string, body?: object) => {
  admin ??= parseKubeconfig(await readFile(join(s.clusterDir, ADMIN_KUBECONFIGS.admin), 'utf8'));
  return httpsRequest(`${admin.server}${path}`, admin, { method, ...(body ? { body: JSON.stringify(body) } : {}) });
};

describe('growing etcd with deploy', () => {
  it('deploys a master, a node and a 1-member etcd cluster, and writes a key', async () => {
    await s.deploy();
    await put(ETCD[0]!, 'one', 'with 1 member');
    expect(await memberNames()).toEqual(['etcd-1']);
  });

  it.each([3, 5])(
    'grows to %i members: the new ones join one at a time, the running ones get nothing, the API server follows, every key is on every member',
    async (n) => {
      const before = s.hosts.filter((h) => h.roles.includes('etcd'));
      await s.setHosts(withEtcd(n));
      const result = await s.deploy();
      expect(await memberNames()).toEqual(ETCD.slice(0, n).map((h) => h.name));
      await s.etcdctl(ETCD.slice(0, n).map(endpoint), 'endpoint', 'health');
      const byHost = new Map(result.summary.hosts.map((h) => [h.name, h]));
      for (const h of before) expect([byHost.get(h.name)!.uploaded, byHost.get(h.name)!.restarted], h.name).toEqual([0, []]);
      for (const h of ETCD.slice(before.length, n)) expect(byHost.get(h.name)!.restarted, h.name).toEqual(['etcd.service']);
      // The API server's --etcd-servers come from the inventory: it restarted with every member (deploy waited for /readyz).
      expect(byHost.get(MASTER.name)!.restarted).toEqual(['kube-apiserver.service']);
      const apiserver = (await s.tb.hostExec(MASTER.name, 'systemctl cat kube-apiserver.service')).stdout;
      expect(apiserver).toContain(`--etcd-servers=${ETCD.slice(0, n).map(endpoint).join(',')}`);
      await put(ETCD[n - 1]!, `grown-to-${n}`, `with ${n} members`);
      await expectDataOnEvery(ETCD.slice(0, n));
    },
  );

  it('re-runs with 0 files uploaded and 0 services restarted; a member restarted by hand comes back with the planned config', async () => {
    const result = await s.deploy();
    expect([result.summary.filesUploaded, result.summary.servicesRestarted]).toEqual([0, 0]);
    // The planned config names the member alone with `existing`: etcd ignores both once it has data.
    await s.tb.hostExec('etcd-4', 'grep -qx "initial-cluster-state: existing" /etc/etcd/etcd.conf.yml && systemctl restart etcd.service');
    await s.etcdctl(ETCD.map(endpoint), 'endpoint', 'health');
    await expectDataOnEvery([ETCD[3]!]);
  });

  it('replaces a member whose data is gone (as after a reset): member remove, then it joins anew and gets every key back', async () => {
    await s.tb.hostExec('etcd-3', 'systemctl disable --now etcd.service && mv /var/lib/etcd/member /var/lib/etcd/member.lost');
    const result = await s.deploy();
    expect(result.summary.hosts.find((h) => h.name === 'etcd-3')!.restarted).toEqual(['etcd.service']);
    expect(await memberNames()).toEqual(ETCD.map((h) => h.name));
    await s.etcdctl(ETCD.map(endpoint), 'endpoint', 'health');
    await expectDataOnEvery([ETCD[2]!]);
  });
});

describe('kubeinstall remove', () => {
  it('refuses a host that is not in the inventory (exit 2), naming it', async () => {
    const r = await cli('remove', 'etcd-9', '--yes');
    expect(r).toMatchObject({ code: 2, stderr: expect.stringMatching(/not in .*inventory\.yaml: etcd-9 \(hosts: cp-1, node-1, etcd-1/) });
  });

  it('shrinks etcd 5 -> 3: members removed one at a time, then reset (etcd data kept aside), the data on the others', async () => {
    const r = await cli('remove', 'etcd-4', 'etcd-5', '--yes');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(await memberNames()).toEqual(['etcd-1', 'etcd-2', 'etcd-3']);
    for (const h of ['etcd-4', 'etcd-5']) await expectReset(h, 'etcd.service');
    const aside = r.stdout.match(/etcd-4: reset \(its etcd data kept at (\S+)\); delete it from the inventory/)![1]!;
    expect((await s.tb.hostExec('etcd-4', `test -d ${aside}/member`, { allowFailure: true })).code).toBe(0);
    await s.etcdctl(ETCD.slice(0, 3).map(endpoint), 'endpoint', 'health');
    await expectDataOnEvery(ETCD.slice(0, 3));
    const log = r.stdout.match(/log: (\S+)/)![1]!;
    expect(await readFile(log, 'utf8')).toMatch(/etcd-1 \[etcd member remove etcd-4\] exit=0/);
  });

  it('refuses removing 2 of 3 members (quorum) before anything changes, with exit 2', async () => {
    const r = await cli('remove', 'etcd-2', 'etcd-3', '--yes');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /refused: removing 2 of 3 etcd members leaves 1, fewer than a majority \(2\) of the current 3: the cluster could lose quorum; nothing was changed/,
    );
    expect(await memberNames()).toEqual(['etcd-1', 'etcd-2', 'etcd-3']);
    for (const h of ['etcd-2', 'etcd-3']) expect(await unitState(h, 'etcd.service'), h).toBe('active enabled');
  });

  it('drains a node: refuses a pod without a controller unless --force, evicts the rest, deletes the Node, resets the host', async () => {
    const pod = (name: string, owner?: { kind: string; name: string }) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        namespace: 'default',
        uid: `uid-${name}`,
        ...(owner ? { ownerReferences: [{ apiVersion: 'apps/v1', ...owner, uid: 'u', controller: true }] } : {}),
      },
      spec: { nodeName: NODE.name, containers: [{ name: 'c', image: 'registry.invalid/c' }] },
    });
    // The stand-in runs no pods: these are stored as a scheduler would have bound them.
    for (const p of [pod('web-1', { kind: 'ReplicaSet', name: 'web' }), pod('agent-1', { kind: 'DaemonSet', name: 'agent' }), pod('bare')])
      expect((await api('POST', '/api/v1/namespaces/default/pods', p)).status).toBe(201);
    const refused = await cli('remove', NODE.name, '--yes');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/node-1: pods not managed by a controller would be lost: default\/bare \(--force evicts them anyway\); nothing was evicted/);
    expect((await api('GET', '/api/v1/namespaces/default/pods/web-1')).status).toBe(200);
    expect(await unitState(NODE.name, 'kubelet.service')).toBe('active enabled');

    const r = await cli('remove', NODE.name, '--yes', '--force');
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect((await api('GET', `/api/v1/nodes/${NODE.name}`)).status).toBe(404);
    const left = JSON.parse((await api('GET', `/api/v1/pods?fieldSelector=spec.nodeName%3D${NODE.name}`)).body) as { items: { metadata: { name: string } }[] };
    expect(left.items.map((p) => p.metadata.name)).toEqual(['agent-1']); // DaemonSet pods are left, as kubectl drain --ignore-daemonsets
    for (const unit of ['kubelet.service', 'kube-proxy.service', 'containerd.service']) await expectReset(NODE.name, unit);
  });

  it('refuses removing the last master (exit 2)', async () => {
    const r = await cli('remove', MASTER.name, '--yes');
    expect(r).toMatchObject({ code: 2, stderr: expect.stringMatching(/refused: it would remove the last master \(cp-1\)/) });
  });

  it('a deploy that still lists the removed hosts adds them back and says so: etcd 5 members with every key, the Node registered again', async () => {
    // remove freed node-1's pod subnet: as for any host added, certs records one first (and deploy says so without it)
    const unplanned = await cli('deploy', ...TESTBED_DEPLOY_FLAGS);
    expect(unplanned.code).toBe(1);
    expect(unplanned.stderr).toMatch(/node-1: network\/pod-subnets\.json[\s\S]*run `kubeinstall certs -i/);
    expect((await cli('certs')).code).toBe(0);
    const r = await cli('deploy', ...TESTBED_DEPLOY_FLAGS);
    expect(r.code).toBe(0);
    for (const h of ['etcd-4', 'etcd-5', 'node-1'])
      expect(r.stderr).toMatch(new RegExp(`${h} was removed with \`kubeinstall remove\` at \\S+ and is still in the inventory: this deploy adds it back`));
    expect(await memberNames()).toEqual(ETCD.map((h) => h.name));
    await expectDataOnEvery(ETCD);
    expect((await api('GET', `/api/v1/nodes/${NODE.name}`)).status).toBe(200);
    expect((await cli('deploy', ...TESTBED_DEPLOY_FLAGS)).stderr).not.toMatch(/was removed/);
  });
});
