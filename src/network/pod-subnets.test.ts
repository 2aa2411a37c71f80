import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { modelFrom } from '../render/test-fixtures.js';
import { UsageError } from '../util/errors.js';
import { allocatePodSubnets, formatPodSubnets, freePodSubnetsOf, gatewayOf, parsePodSubnets, POD_SUBNETS_FILE, podSubnetHosts } from './pod-subnets.js';

const hosts = (...names: string[]): string =>
  names.map((n, i) => `  - { name: ${n}, address: 10.0.0.${i + 1}, roles: [${i === 0 ? 'etcd, master' : 'node'}] }\n`).join('');
const model = (names: string[], cluster = '  podCidr: 10.244.0.0/16\n') => modelFrom(hosts(...names), cluster);

describe('pod subnets', () => {
  it('gives every kubelet host (masters too) the lowest free subnet, in inventory order; none to etcd-only hosts or other plugins', () => {
    const m = modelFrom(`${hosts('m1', 'n1', 'n2')}  - { name: e1, address: 10.0.0.9, roles: [etcd] }\n`, '  podCidr: 10.244.0.0/16\n');
    expect(allocatePodSubnets(m, undefined, 'f').hosts).toEqual({ m1: '10.244.0.0/24', n1: '10.244.1.0/24', n2: '10.244.2.0/24' });
    expect(podSubnetHosts(model(['m1', 'n1'], '  network: { plugin: none }\n'))).toEqual([]);
  });

  it('keeps recorded subnets when hosts come and go: a new host takes a freed one, nobody is renumbered', () => {
    const first = allocatePodSubnets(model(['m1', 'n1', 'n2']), undefined, 'f');
    // n1 left the inventory (still recorded: its subnet stays taken until remove frees it)
    const kept = allocatePodSubnets(model(['m1', 'n2', 'n3']), first, 'f');
    expect(kept.hosts).toEqual({ m1: '10.244.0.0/24', n1: '10.244.1.0/24', n2: '10.244.2.0/24', n3: '10.244.3.0/24' });
    const freed = allocatePodSubnets(
      model(['m1', 'n2', 'n3', 'n4']),
      { ...kept, hosts: { m1: '10.244.0.0/24', n2: '10.244.2.0/24', n3: '10.244.3.0/24' } },
      'f',
    );
    expect(freed.hosts.n4).toBe('10.244.1.0/24');
  });

  it('refuses a full pod CIDR, naming hosts that hold a subnet without being in the inventory', () => {
    const small = '  podCidr: 10.244.0.0/23\n';
    const record = allocatePodSubnets(model(['m1', 'n1'], small), undefined, 'f');
    const grown = model(['m1', 'n2'], small);
    expect(() => allocatePodSubnets(grown, record, '/c/network/pod-subnets.json')).toThrow(UsageError);
    expect(() => allocatePodSubnets(grown, record, '/c/network/pod-subnets.json')).toThrow(
      /10\.244\.0\.0\/23 is full: its 2 \/24 pod subnets are taken, none is left for n2 \(n1 no longer in the inventory still hold one: delete them from/,
    );
  });

  it('refuses another pod CIDR or subnet size than the record was carved from', () => {
    const record = allocatePodSubnets(model(['m1', 'n1']), undefined, 'f');
    expect(() => allocatePodSubnets(model(['m1', 'n1'], '  podCidr: 10.245.0.0/16\n'), record, 'f')).toThrow(/pods cannot be renumbered/);
    expect(() => allocatePodSubnets(model(['m1', 'n1'], '  podCidr: 10.244.0.0/16\n  network: { nodeSubnetSize: 25 }\n'), record, 'f')).toThrow(
      /nodeSubnetSize 25 differs/,
    );
  });

  it('reads back what it writes, and names a file that is not a record', () => {
    const record = allocatePodSubnets(model(['m1', 'n1']), undefined, 'f');
    expect(parsePodSubnets(formatPodSubnets(record), 'f')).toEqual(record);
    expect(() => parsePodSubnets('{"hosts": []}', '/c/network/pod-subnets.json')).toThrow(/\/c\/network\/pod-subnets\.json is not a pod subnet record/);
    expect(gatewayOf('10.244.3.0/24')).toBe('10.244.3.1');
  });

  it('remove frees the removed hosts only', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ki-subnets-'));
    try {
      await mkdir(join(dir, 'network'));
      await writeFile(join(dir, POD_SUBNETS_FILE), formatPodSubnets(allocatePodSubnets(model(['m1', 'n1', 'n2']), undefined, 'f')));
      await freePodSubnetsOf(dir, ['n1']);
      expect(parsePodSubnets(await readFile(join(dir, POD_SUBNETS_FILE)), 'f').hosts).toEqual({ m1: '10.244.0.0/24', n2: '10.244.2.0/24' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
