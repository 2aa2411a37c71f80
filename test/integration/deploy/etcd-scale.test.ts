// End to end on the test bed (198.18.51.0/24, real etcd 3.4): an etcd cluster grown 1 -> 3 -> 5 members
// by `deploy`, the data kept at each step and readable on every member; a re-run changes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSetting, type BedHost, type Setting } from './fixtures.js';

const ETCD: BedHost[] = [1, 2, 3, 4, 5].map((n) => ({ name: `etcd-${n}`, address: `198.18.51.${10 + n}`, roles: ['etcd'] }));
const endpoint = (h: BedHost): string => `https://${h.address}:2379`;
let s: Setting;

beforeAll(async () => {
  s = await startSetting({ name: 'etcdscale', subnet: '198.18.51.0/24' }, ETCD.slice(0, 1), ETCD.slice(1));
}, 240_000);
afterAll(async () => {
  await s?.stop();
});

const memberNames = async (): Promise<string[]> =>
  (await s.etcdctl([endpoint(ETCD[0]!)], 'member', 'list'))
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
const put = async (h: BedHost, key: string): Promise<void> => {
  written.set(key, `written on ${h.name} when the cluster had ${s.hosts.length} members`);
  await s.etcdctl([endpoint(h)], 'put', key, written.get(key)!);
};

describe('growing etcd with deploy', () => {
  it('deploys a 1-member cluster and writes a key', async () => {
    await s.deploy();
    await put(ETCD[0]!, 'one');
    expect(await memberNames()).toEqual(['etcd-1']);
  });

  it.each([3, 5])('grows to %i members: the new ones join one at a time, the running ones do not restart, every key is on every member', async (n) => {
    const before = s.hosts;
    await s.setHosts(ETCD.slice(0, n));
    const result = await s.deploy();
    expect(await memberNames()).toEqual(ETCD.slice(0, n).map((h) => h.name));
    await s.etcdctl(ETCD.slice(0, n).map(endpoint), 'endpoint', 'health');
    const byHost = new Map(result.summary.hosts.map((h) => [h.name, h]));
    for (const h of before) expect(byHost.get(h.name)!.restarted, h.name).toEqual([]);
    for (const h of ETCD.slice(before.length, n)) expect(byHost.get(h.name)!.restarted, h.name).toEqual(['etcd.service']);
    // The running members' config did not change: only the new members got files.
    for (const h of before) expect(byHost.get(h.name)!.uploaded, h.name).toBe(0);
    await put(ETCD[n - 1]!, `grown-to-${n}`);
    await expectDataOnEvery(ETCD.slice(0, n));
  });

  it('re-runs with 0 files uploaded and 0 services restarted, and a member restarted by hand comes back with the planned config', async () => {
    const result = await s.deploy();
    expect([result.summary.filesUploaded, result.summary.servicesRestarted]).toEqual([0, 0]);
    // The planned config names the member alone with `existing`: etcd ignores both once it has data.
    await s.tb.hostExec('etcd-4', 'grep -x "initial-cluster-state: existing" /etc/etcd/etcd.conf.yml && systemctl restart etcd.service');
    await s.etcdctl(ETCD.map(endpoint), 'endpoint', 'health');
    await expectDataOnEvery([ETCD[3]!]);
  });
});
