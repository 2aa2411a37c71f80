import { describe, expect, it } from 'vitest';
import { modelFrom } from '../render/test-fixtures.js';
import { podFate, type PodObject } from './drain.js';
import { etcdRemovalRefusal, etcdRemovalWarning, inventoryRefusals, quorumOf } from './removal.js';

describe('removing etcd members', () => {
  it.each([
    // n current voting members, k removed: allowed?
    [1, 1, false], // the last member
    [2, 1, false], // 1 left < majority 2 of the current 2
    [3, 1, true],
    [3, 2, false],
    [4, 1, true],
    [4, 2, false],
    [5, 2, true],
    [5, 3, false],
    [6, 2, true],
    [7, 3, true],
    [7, 4, false],
  ])('%i members, removing %i: allowed %s', (n, k, allowed) => {
    expect(etcdRemovalRefusal(n, k) === undefined).toBe(allowed);
  });

  it('holds at every step of a removal it allows (one member at a time)', () => {
    for (let n = 1; n <= 9; n++)
      for (let k = 1; k <= n; k++) {
        if (etcdRemovalRefusal(n, k)) continue;
        for (let m = n; m > n - k; m--) expect(m - 1 >= quorumOf(m), `${n} - ${k}, step from ${m}`).toBe(true);
      }
  });

  it('words the refusal with the numbers, and warns about an even count left', () => {
    expect(etcdRemovalRefusal(3, 2)).toBe('removing 2 of 3 etcd members leaves 1, fewer than a majority (2) of the current 3: the cluster could lose quorum');
    expect(etcdRemovalRefusal(1, 1)).toBe('it would remove the last etcd member (1 of 1)');
    expect(etcdRemovalWarning(5, 1)).toBe('removing 1 of 5 etcd members leaves 4, an even count: it tolerates 1 failed member(s), as 3 would');
    expect(etcdRemovalWarning(5, 2)).toBeUndefined();
  });
});

describe('removing masters', () => {
  const model = modelFrom(
    [
      '  - { name: m1, address: 127.0.12.1, roles: [etcd, master] }',
      '  - { name: m2, address: 127.0.12.2, roles: [master] }',
      '  - { name: n1, address: 127.0.12.11, roles: [node] }',
      '',
    ].join('\n'),
    '  apiEndpointKind: master\n',
  );
  const hosts = (...names: string[]) => model.hosts.filter((h) => names.includes(h.name));

  it('refuses the last master, and the master that is the API endpoint', () => {
    expect(inventoryRefusals(model, hosts('m1', 'm2'))[0]).toBe('it would remove the last master (m1, m2); a cluster needs one');
    expect(inventoryRefusals(model, hosts('m1'))).toEqual([
      `m1 is the cluster's API endpoint (cluster.apiEndpoint 127.0.12.1): point cluster.apiEndpoint at another master and deploy first`,
    ]);
    expect(inventoryRefusals(model, hosts('m2', 'n1'))).toEqual([]);
  });
});

describe('drain', () => {
  const pod = (extra: Partial<PodObject['metadata']> = {}, phase?: string): PodObject => ({
    metadata: { name: 'p', namespace: 'default', ...extra },
    status: { phase },
  });
  const owned = (kind: string) => pod({ ownerReferences: [{ kind, name: 'x', controller: true }] });

  it('decides as kubectl drain --ignore-daemonsets: evicts controlled pods, leaves DaemonSet and static pods, refuses bare ones unless forced', () => {
    expect(podFate(owned('ReplicaSet'), false)).toBe('evict');
    expect(podFate(owned('DaemonSet'), false)).toBe('skip-daemonset');
    expect(podFate(pod({ annotations: { 'kubernetes.io/config.mirror': 'abc' } }), false)).toBe('skip-mirror');
    expect(podFate(pod(), false)).toBe('refuse-unmanaged');
    expect(podFate(pod(), true)).toBe('evict');
    expect(podFate(pod({}, 'Succeeded'), false)).toBe('evict'); // finished: nothing is lost
  });
});
