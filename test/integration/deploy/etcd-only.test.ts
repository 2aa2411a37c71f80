// End to end on the test bed: an etcd-only inventory of 3 hosts (127.0.2.21-23) becomes a healthy
// 3-member TLS etcd cluster with real etcd; a re-run changes nothing; a taken port is reported.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSetting, type Setting } from './fixtures.js';

const HOSTS = [1, 2, 3].map((n) => ({ name: `etcd-${n}`, address: `127.0.2.${20 + n}`, roles: ['etcd' as const] }));
const endpoints = HOSTS.map((h) => `https://${h.address}:2379`);
let s: Setting;

beforeAll(async () => {
  s = await startSetting(HOSTS);
});
afterAll(async () => {
  await s?.stop();
});

describe('etcd-only inventory', () => {
  it('deploys a healthy 3-member TLS cluster: put on one member, get on another', async () => {
    const result = await s.deploy();
    expect(result.summary.filesUploaded).toBeGreaterThan(0);
    expect(result.summary.hosts.map((h) => h.restarted)).toEqual([['etcd.service'], ['etcd.service'], ['etcd.service']]);
    await s.etcdctl(endpoints, 'endpoint', 'health'); // exits non-zero unless every member is healthy
    const members = await s.etcdctl([endpoints[0]!], 'member', 'list');
    expect(members.trim().split('\n').map((l) => l.split(', ')[2]).sort()).toEqual(['etcd-1', 'etcd-2', 'etcd-3']);
    await s.etcdctl([endpoints[0]!], 'put', 'kubeinstall-e2e', 'written on etcd-1');
    expect(await s.etcdctl([endpoints[2]!], 'get', '--print-value-only', 'kubeinstall-e2e')).toBe('written on etcd-1\n');
  });

  it('re-runs with 0 files uploaded and 0 services restarted', async () => {
    const result = await s.deploy();
    expect(result.summary.filesUploaded).toBe(0);
    expect(result.summary.servicesRestarted).toBe(0);
  });
});
