import { describe, expect, it } from 'vitest';
import { parseCidr, type ParsedCidr } from '../util/ip.js';
import { freeSubnet, LAB_POD_CIDR, LAB_RANGE, LAB_SERVICE_CIDR, labHosts, labNetworkName, labRange, usedNetworks } from './layout.js';
import { bridgeName } from './network.js';

const cidr = (t: string) => parseCidr(t) as ParsedCidr;

// As `ip -o -4 addr show` and `ip -o -4 route show` print them (a test bed's bridge, a host route, the default route).
const IP_ADDR = [
  '1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever',
  '7: kitb-ha    inet 198.18.240.1/24 scope global kitb-ha\\       valid_lft forever preferred_lft forever',
].join('\n');
const IP_ROUTE = [
  'default via 198.19.250.1 dev eth0',
  '198.18.241.7 dev tun0 scope link',
  '198.18.240.0/24 dev kitb-ha proto kernel scope link src 198.18.240.1',
].join('\n');

describe('lab layout', () => {
  it('names the bridge after the folder, within 15 characters, differently for two folders', () => {
    const a = bridgeName({ name: labNetworkName('/home/me/lab'), subnet: '198.18.240.0/24' });
    const b = bridgeName({ name: labNetworkName('/home/me/lab2'), subnet: '198.18.240.0/24' });
    expect(a).toMatch(/^kitb-lab-[0-9a-f]{6}$/);
    expect(a.length).toBeLessThanOrEqual(15);
    expect(a).not.toBe(b);
    expect(labNetworkName('/home/me/lab')).toBe(labNetworkName('/home/me/lab'));
  });

  it('reads the networks in use from addresses (host bits cleared) and routes (a bare address is a /32; default is not a network)', () => {
    expect(usedNetworks(IP_ADDR, IP_ROUTE).map((n) => `${n.base}/${n.prefix}`)).toEqual(
      [cidr('127.0.0.0/8'), cidr('198.18.240.0/24'), cidr('198.18.241.7/32'), cidr('198.18.240.0/24')].map((n) => `${n.base}/${n.prefix}`),
    );
  });

  it('takes the first /24 of the range that nothing in use overlaps, or none', () => {
    const used = usedNetworks(IP_ADDR, IP_ROUTE);
    expect(freeSubnet(labRange(undefined), used)).toBe('198.18.242.0/24');
    expect(freeSubnet(labRange('198.18.240.0/23'), used)).toBeUndefined();
    expect(freeSubnet(labRange('198.18.70.0/24'), used)).toBe('198.18.70.0/24');
  });

  it('accepts only ranges of /24 or larger inside 198.18.0.0/15, naming the variable', () => {
    expect(labRange(undefined).prefix).toBe(20);
    expect(() => labRange('198.18.70.0/25')).toThrow(/KUBEINSTALL_LAB_SUBNETS: 198.18.70.0\/25 must be a \/24 or larger inside 198.18.0.0\/15/);
    expect(() => labRange('198.20.0.0/24')).toThrow(/inside 198.18.0.0\/15/);
    expect(() => labRange('198.16.0.0/14')).toThrow(/inside 198.18.0.0\/15/);
    expect(() => labRange('198.18.70.1/24')).toThrow(/KUBEINSTALL_LAB_SUBNETS: .*host bits/);
  });

  it('keeps the lab range and the lab cluster ranges apart from each other and from the test subnets', () => {
    const ranges = [LAB_RANGE, LAB_SERVICE_CIDR, LAB_POD_CIDR, '198.18.0.0/17', '198.19.0.0/24', '198.19.40.0/24', '198.19.64.0/18', '198.19.128.0/17'].map(
      cidr,
    );
    for (const [i, a] of ranges.entries())
      for (const b of ranges.slice(i + 1))
        expect(a.base + (1n << BigInt(32 - a.prefix)) <= b.base || b.base + (1n << BigInt(32 - b.prefix)) <= a.base).toBe(true);
  });

  it("gives the starter inventory's names and roles addresses from .11 on", () => {
    expect(labHosts({ masters: 0, nodes: 0, etcd: 3 }, { name: 'lab-x', subnet: '198.18.70.0/24' })).toEqual([
      { name: 'etcd-1', address: '198.18.70.11', roles: ['etcd'] },
      { name: 'etcd-2', address: '198.18.70.12', roles: ['etcd'] },
      { name: 'etcd-3', address: '198.18.70.13', roles: ['etcd'] },
    ]);
    expect(labHosts({ masters: 1, nodes: 1, etcd: 0 }, { name: 'lab-x', subnet: '198.18.71.0/24' })).toEqual([
      { name: 'master-1', address: '198.18.71.11', roles: ['etcd', 'master'] },
      { name: 'node-1', address: '198.18.71.12', roles: ['node'] },
    ]);
  });
});
