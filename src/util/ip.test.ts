import { describe, expect, it } from 'vitest';
import { bigIntToIp, cidrContains, cidrsOverlap, ipToBigInt, isHostname, nthAddress, parseCidr, sameIp, type ParsedCidr } from './ip.js';

const cidr = (t: string) => parseCidr(t) as ParsedCidr;

describe('IP helpers', () => {
  it('round-trips IPv4 and IPv6, compressing the longest zero run', () => {
    expect(bigIntToIp(ipToBigInt('10.96.0.1'), 4)).toBe('10.96.0.1');
    expect(bigIntToIp(ipToBigInt('fd00:0:0:0:0:0:0:1'), 6)).toBe('fd00::1');
    expect(bigIntToIp(ipToBigInt('::ffff:1.2.3.4'), 6)).toBe('::ffff:102:304');
  });
  it('finds the kubernetes service and DNS addresses', () => {
    expect(nthAddress(cidr('10.96.0.0/12'), 1)).toBe('10.96.0.1');
    expect(nthAddress(cidr('10.96.0.0/12'), 10)).toBe('10.96.0.10');
    expect(nthAddress(cidr('10.0.0.0/30'), 10)).toBeUndefined();
  });
  it('tells containment and overlap', () => {
    expect(cidrContains(cidr('10.96.0.0/12'), '10.111.255.255')).toBe(true);
    expect(cidrContains(cidr('10.96.0.0/12'), '10.112.0.0')).toBe(false);
    expect(cidrsOverlap(cidr('10.0.0.0/8'), cidr('10.244.0.0/16'))).toBe(true);
    expect(cidrsOverlap(cidr('10.96.0.0/12'), cidr('10.244.0.0/16'))).toBe(false);
    expect(cidrsOverlap(cidr('10.0.0.0/8'), cidr('fd00::/8'))).toBe(false);
  });
  it('refuses a mistyped IPv4 address as a host name', () => {
    expect(isHostname('10.0.0.300')).toBe(false);
    expect(isHostname('master-1.example.com')).toBe(true);
    expect(isHostname('-bad')).toBe(false);
  });
  it('compares addresses by value, not by spelling', () => {
    expect(sameIp('fd00:0:0:1::1', 'fd00:0:0:1:0:0:0:1')).toBe(true);
    expect(bigIntToIp(ipToBigInt('fd00:0:0:1:0:0:0:1'), 6)).toBe('fd00:0:0:1::1');
    expect(sameIp('fd00::1', 'fd00::2')).toBe(false);
    expect(sameIp('127.0.0.1', '::ffff:127.0.0.1')).toBe(false);
  });
});
