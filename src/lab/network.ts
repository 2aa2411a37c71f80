// A test bed's own network: a bridge with no uplink, in 198.18.0.0/15, that every host of the test bed
// joins with its own network namespace (systemd-nspawn --network-bridge). The runner's side of the bridge
// holds the subnet's first address. Nothing is forwarded or NATed off the bridge (the machine's
// ip_forward is left as it is), hosts get no default route, and the runner's side answers only on the
// bridge (rp_filter=1; IPv6 off, so no link-local traffic either): see shared testbed notes, where a
// packet from a test subnet was once answered through the machine's default route without these.
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { run } from './proc.js';

export interface TestbedNetwork {
  /** Names the bridge `kitb-<name>` (interface names hold at most 15 characters). */
  readonly name: string;
  /** A /24 inside 198.18.0.0/15; the runner's side of the bridge holds its `.1`. */
  readonly subnet: string;
}

/** The prefix of every bridge a test bed makes; teardown removes the exact name, never a pattern. */
export const BRIDGE_PREFIX = 'kitb-';
const IFNAME_MAX = 15;
/** RFC 2544's benchmarking block: the only addresses test networks may use. */
const TEST_BLOCK = { first: ipv4ToNumber('198.18.0.0'), size: 2 ** 17 };

function ipv4ToNumber(address: string): number {
  const parts = address.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`not an IPv4 address: ${address}`);
  return parts.reduce((n, p) => n * 256 + p, 0);
}
const numberToIpv4 = (n: number): string => [24, 16, 8, 0].map((shift) => (n >>> shift) & 255).join('.');

export const bridgeName = (net: TestbedNetwork): string => `${BRIDGE_PREFIX}${net.name}`;

/** The subnet's base address, checked: a /24 inside 198.18.0.0/15. */
const subnetBase = (net: TestbedNetwork): number => {
  const match = /^(\d+\.\d+\.\d+\.\d+)\/24$/.exec(net.subnet);
  if (!match) throw new Error(`test-bed subnet ${net.subnet} must be a /24 (e.g. 198.18.5.0/24)`);
  const base = ipv4ToNumber(match[1]!);
  if (base % 256 !== 0) throw new Error(`test-bed subnet ${net.subnet} does not start on a /24 boundary`);
  if (base < TEST_BLOCK.first || base >= TEST_BLOCK.first + TEST_BLOCK.size) throw new Error(`test-bed subnet ${net.subnet} is outside 198.18.0.0/15`);
  return base;
};

/** The runner's address on the bridge (the subnet's .1). */
export const gatewayAddress = (net: TestbedNetwork): string => numberToIpv4(subnetBase(net) + 1);

/** Checks the network and that every host address is a usable address of its subnet (not .0, .1, .255). */
export const assertTestNetwork = (net: TestbedNetwork, addresses: readonly string[]): void => {
  if (!/^[a-z0-9-]+$/.test(net.name) || bridgeName(net).length > IFNAME_MAX) {
    throw new Error(`test-bed network name "${net.name}" must be lower-case letters, digits or '-', at most ${IFNAME_MAX - BRIDGE_PREFIX.length} characters`);
  }
  const base = subnetBase(net);
  for (const address of addresses) {
    const offset = ipv4ToNumber(address) - base;
    if (offset < 2 || offset > 254) throw new Error(`test-bed address ${address} is not a host address of ${net.subnet} (.2 to .254)`);
  }
};

const procSys = (path: string, value: string): Promise<void> => writeFile(`/proc/sys/${path}`, `${value}\n`);

/** Creates the bridge; refuses one that exists already (another test bed's: never taken over). */
export const createBridge = async (net: TestbedNetwork): Promise<void> => {
  const bridge = bridgeName(net);
  const exists = await run('ip', ['link', 'show', 'dev', bridge], { allowFailure: true });
  if (exists.code === 0) throw new Error(`bridge ${bridge} exists already (another test bed running, or one left behind: ip link del ${bridge})`);
  const taken = await run('ip', ['-o', '-4', 'addr', 'show', 'to', `${gatewayAddress(net)}/32`]);
  if (taken.stdout.trim()) throw new Error(`${gatewayAddress(net)} is already on an interface of this machine: ${taken.stdout.trim()}`);
  await run('ip', ['link', 'add', bridge, 'type', 'bridge']);
  try {
    await procSys(`net/ipv6/conf/${bridge}/disable_ipv6`, '1');
    await procSys(`net/ipv4/conf/${bridge}/rp_filter`, '1');
    await run('ip', ['addr', 'add', `${gatewayAddress(net)}/24`, 'dev', bridge]);
    await run('ip', ['link', 'set', bridge, 'up']);
  } catch (err) {
    await removeBridge(net);
    throw err;
  }
};

export const removeBridge = async (net: TestbedNetwork): Promise<void> => {
  await run('ip', ['link', 'del', 'dev', bridgeName(net)], { allowFailure: true });
};

/** The same, synchronously, for the exit hook. */
export const removeBridgeNow = (net: TestbedNetwork): void => {
  spawnSync('ip', ['link', 'del', 'dev', bridgeName(net)], { stdio: 'ignore', timeout: 5_000 });
};

/** Inside a host's network namespace: its address on host0 (nspawn's end of the veth) and loopback up. */
export const hostAddressCommand = (address: string): string => `ip link set lo up && ip addr add ${address}/24 dev host0 && ip link set host0 up`;

/**
 * Caps what the runner sends to one host at `kbit`: an HTB class on the bridge (where the runner's packets
 * to the hosts leave) with a filter on the host's address; traffic to the other hosts is not classified and
 * goes out unshaped. Returns the undo (the bridge's root qdisc removed; the bridge is this test bed's own).
 */
export const throttleAddress = async (net: TestbedNetwork, address: string, kbit: number): Promise<() => Promise<void>> => {
  const dev = bridgeName(net);
  await run('tc', ['qdisc', 'replace', 'dev', dev, 'root', 'handle', '1:', 'htb']);
  await run('tc', ['class', 'replace', 'dev', dev, 'parent', '1:', 'classid', '1:20', 'htb', 'rate', `${kbit}kbit`, 'burst', '16k']);
  await run('tc', [
    'filter',
    'replace',
    'dev',
    dev,
    'parent',
    '1:',
    'protocol',
    'ip',
    'prio',
    '1',
    'u32',
    'match',
    'ip',
    'dst',
    `${address}/32`,
    'flowid',
    '1:20',
  ]);
  return async () => void (await run('tc', ['qdisc', 'del', 'dev', dev, 'root'], { allowFailure: true }));
};
