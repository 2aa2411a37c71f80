// Where a lab lives: a free /24 of the lab range, a bridge named after the lab's folder (so two labs differ),
// its hosts' names, roles and addresses, and the cluster ranges its inventory gets. Pure: the callers read
// this machine's addresses and routes.
import { createHash } from 'node:crypto';
import { shapeHosts, type StarterShape } from '../inventory/template.js';
import type { Role } from '../inventory/model.js';
import { cidrsOverlap, cidrText, ipFamily, ipToBigInt, nthAddress, parseCidr, type ParsedCidr } from '../util/ip.js';
import { UsageError } from '../util/errors.js';
import { TEST_BLOCK_CIDR, type TestbedNetwork } from './network.js';

/** The /24s labs take their bridges from: the top of 198.18.0.0/15's first half, apart from every test subnet
 * (198.18.5-99, see docs/testbed.md). */
export const LAB_RANGE = '198.18.240.0/20';
/** Overrides the lab range (a CIDR inside 198.18.0.0/15, /24 or larger): tests give each lab of theirs its own. */
export const LAB_RANGE_ENV = 'KUBEINSTALL_LAB_SUBNETS';
/** The lab cluster's service and pod ranges: inside its hosts only, apart from the test clusters' (docs/testbed.md). */
export const LAB_SERVICE_CIDR = '198.19.48.0/24';
export const LAB_POD_CIDR = '198.19.56.0/21';
/** Each kubelet host's pod subnet (the bridge network's): /26 carves LAB_POD_CIDR into 32, one per host of the largest lab. */
export const LAB_NODE_SUBNET_SIZE = 26;
/** Host addresses start at .11 of the lab's /24 (.1 is this machine's side of the bridge). */
const FIRST_HOST = 11;
export const MAX_LAB_HOSTS = 32;

export interface LabHost {
  readonly name: string;
  readonly address: string;
  readonly roles: readonly Role[];
}

/** `lab-` and 6 hex digits of the folder's path: with the test bed's `kitb-` prefix, 15 characters (an interface name's limit). */
export const labNetworkName = (dir: string): string => `lab-${createHash('sha256').update(dir).digest('hex').slice(0, 6)}`;

/** The lab range, from the environment variable when set; checked: IPv4, /24 or larger, inside 198.18.0.0/15. */
export const labRange = (text: string | undefined): ParsedCidr => {
  const value = text ?? LAB_RANGE;
  const where = text === undefined ? 'the lab range' : LAB_RANGE_ENV;
  const range = parseCidr(value);
  if (typeof range === 'string') throw new UsageError(`${where}: ${range}`);
  const block = parseCidr(TEST_BLOCK_CIDR) as ParsedCidr;
  if (range.family !== 4 || range.prefix > 24 || range.prefix < block.prefix || !cidrsOverlap(range, block)) {
    throw new UsageError(`${where}: ${value} must be a /24 or larger inside ${TEST_BLOCK_CIDR}`);
  }
  return range;
};

/** The network an address with its prefix (`198.18.22.1/24`, as `ip addr` prints it) or a route's destination is in. */
export const networkOf = (text: string): ParsedCidr | undefined => {
  const [address, prefixText] = text.split('/');
  if (!address || ipFamily(address) !== 4) return undefined;
  const prefix = prefixText === undefined ? 32 : Number(prefixText);
  const hostBits = BigInt(32 - prefix);
  return { family: 4, base: (ipToBigInt(address) >> hostBits) << hostBits, prefix };
};

/** The IPv4 networks this machine uses: its addresses' (`ip -o -4 addr show`) and its routes' (`ip -o -4 route show`). */
export const usedNetworks = (ipAddr: string, ipRoute: string): ParsedCidr[] =>
  [
    ...[...ipAddr.matchAll(/\binet (\S+)/g)].map((m) => networkOf(m[1]!)),
    ...ipRoute.split('\n').map((line) => networkOf(line.trim().split(/\s+/)[0] ?? '')),
  ].filter((n): n is ParsedCidr => n !== undefined);

/** The first /24 of the range that overlaps none of the networks in use, or undefined. */
export const freeSubnet = (range: ParsedCidr, used: readonly ParsedCidr[]): string | undefined => {
  for (let base = range.base; base < range.base + (1n << BigInt(32 - range.prefix)); base += 256n) {
    const candidate: ParsedCidr = { family: 4, base, prefix: 24 };
    if (!used.some((u) => cidrsOverlap(u, candidate))) return cidrText(candidate);
  }
  return undefined;
};

/** The lab's hosts: the starter inventory's names and roles, addresses from .11 of the subnet on. */
export const labHosts = (shape: StarterShape, network: TestbedNetwork): LabHost[] => {
  const subnet = parseCidr(network.subnet) as ParsedCidr;
  return shapeHosts(shape).map((h, i) => ({ ...h, address: nthAddress(subnet, FIRST_HOST + i)! }));
};
