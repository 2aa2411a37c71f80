// The pod subnet of each kubelet host (cluster.network.plugin bridge): carved from the pod CIDR by `certs`, recorded
// in the cluster folder and never renumbered. A host keeps its subnet while it is in the record (also when it leaves the
// inventory); `kubeinstall remove` frees it; a new host takes the lowest free one. Render reads the record: each host's
// CNI config takes its own subnet, and every kubelet host routes the others' through their internal addresses.
import { join } from 'node:path';
import { runsKubelet, type ClusterModel, type Host } from '../inventory/model.js';
import { CERT_MODE, readIfExists, type OutputFile } from '../pki/store.js';
import { KubeinstallError, UsageError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import { bigIntToIp, cidrText, parseCidr, type ParsedCidr } from '../util/ip.js';

/** Relative to the cluster folder. */
export const POD_SUBNETS_FILE = 'network/pod-subnets.json';

export interface PodSubnets {
  /** What the subnets were carved from: a different podCidr or nodeSubnetSize later would renumber pods. */
  readonly podCidr: string;
  readonly nodeSubnetSize: number;
  /** Host name -> its subnet (CIDR text). */
  readonly hosts: Readonly<Record<string, string>>;
}

type Model = Pick<ClusterModel, 'podCidr' | 'network' | 'hosts'>;

/** The hosts that get a pod subnet: every kubelet host, with the bridge plugin. */
export const podSubnetHosts = <H extends Pick<Host, 'roles'>>(model: { readonly network: ClusterModel['network']; readonly hosts: readonly H[] }): H[] =>
  model.network.plugin === 'bridge' ? model.hosts.filter(runsKubelet) : [];

/** How many subnets of `size` the pod CIDR holds (capped: only compared with host counts). */
export const subnetCapacity = (podCidr: Pick<ParsedCidr, 'prefix'>, size: number): number => 2 ** Math.min(size - podCidr.prefix, 30);

const isRecord = (v: unknown): v is PodSubnets => {
  const r = v as PodSubnets;
  return (
    typeof r === 'object' &&
    r !== null &&
    typeof r.podCidr === 'string' &&
    Number.isInteger(r.nodeSubnetSize) &&
    typeof r.hosts === 'object' &&
    r.hosts !== null &&
    Object.values(r.hosts).every((s) => typeof s === 'string' && typeof parseCidr(s) === 'object')
  );
};

/** The record from the file's text; throws naming the file when it is not one. */
export const parsePodSubnets = (text: string | Buffer, where: string): PodSubnets => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.toString());
  } catch {
    parsed = undefined;
  }
  if (!isRecord(parsed)) throw new KubeinstallError(`${where} is not a pod subnet record ({ podCidr, nodeSubnetSize, hosts: { name: cidr } })`);
  return parsed;
};

export const formatPodSubnets = (r: PodSubnets): string => {
  const hosts = Object.fromEntries(Object.entries(r.hosts).sort(([a], [b]) => a.localeCompare(b)));
  return `${JSON.stringify({ podCidr: r.podCidr, nodeSubnetSize: r.nodeSubnetSize, hosts }, null, 2)}\n`;
};

/** The nth subnet of `size` in the CIDR. */
const nthSubnet = (cidr: ParsedCidr, size: number, n: number): string => {
  const bits = cidr.family === 4 ? 32 : 128;
  return cidrText({ family: cidr.family, prefix: size, base: cidr.base + (BigInt(n) << BigInt(bits - size)) });
};

/**
 * The record with a subnet for every host that needs one: recorded ones kept, new ones the lowest free, in inventory
 * order. Refuses a pod CIDR or size other than the record's (the pods would be renumbered) and a pod CIDR that is full.
 */
export const allocatePodSubnets = (model: Model, recorded: PodSubnets | undefined, where: string): PodSubnets => {
  const { podCidr, network } = model;
  if (recorded && (recorded.podCidr !== podCidr.text || recorded.nodeSubnetSize !== network.nodeSubnetSize)) {
    throw new UsageError(
      `cluster.podCidr ${podCidr.text} with nodeSubnetSize ${network.nodeSubnetSize} differs from the ${recorded.podCidr} and ` +
        `/${recorded.nodeSubnetSize} the pod subnets in ${where} were carved from: a running cluster's pods cannot be renumbered ` +
        `(put them back, or delete ${where} for a new cluster)`,
    );
  }
  const hosts: Record<string, string> = { ...recorded?.hosts };
  const cidr = parseCidr(podCidr.text) as ParsedCidr;
  const capacity = subnetCapacity(cidr, network.nodeSubnetSize);
  const taken = new Set(Object.values(hosts));
  let next = 0;
  for (const h of podSubnetHosts(model)) {
    if (hosts[h.name]) continue;
    while (next < capacity && taken.has(nthSubnet(cidr, network.nodeSubnetSize, next))) next++;
    if (next >= capacity) {
      const stale = Object.keys(hosts).filter((name) => !model.hosts.some((m) => m.name === name));
      throw new UsageError(
        `cluster.podCidr ${podCidr.text} is full: its ${capacity} /${network.nodeSubnetSize} pod subnets are taken, none is left for ${h.name}` +
          (stale.length ? ` (${stale.join(', ')} no longer in the inventory still hold one: delete them from ${where} to free theirs)` : '') +
          '; a new cluster needs a larger podCidr or a longer nodeSubnetSize',
      );
    }
    hosts[h.name] = nthSubnet(cidr, network.nodeSubnetSize, next);
    taken.add(hosts[h.name]!);
  }
  return { podCidr: podCidr.text, nodeSubnetSize: network.nodeSubnetSize, hosts };
};

/** The record without these hosts (`kubeinstall remove` frees their subnets). */
export const freePodSubnets = (recorded: PodSubnets, names: readonly string[]): PodSubnets => ({
  ...recorded,
  hosts: Object.fromEntries(Object.entries(recorded.hosts).filter(([name]) => !names.includes(name))),
});

/** The bridge's own address on a host: the subnet's first address, the pods' gateway. */
export const gatewayOf = (subnet: string): string => {
  const c = parseCidr(subnet) as ParsedCidr;
  return bigIntToIp(c.base + 1n, c.family);
};

/** The record as `certs` leaves it: the one found with any new host's subnet added (written only when it changed). */
export const podSubnetsFile = async (model: Model, dir: string): Promise<OutputFile> => {
  const where = join(dir, POD_SUBNETS_FILE);
  const found = await readIfExists(where);
  const record = allocatePodSubnets(model, found === undefined ? undefined : parsePodSubnets(found, where), where);
  return { path: POD_SUBNETS_FILE, data: formatPodSubnets(record), mode: CERT_MODE };
};

/** `kubeinstall remove`: the removed hosts' subnets go back to the pool (a host added later may get one). */
export const freePodSubnetsOf = async (dir: string, names: readonly string[]): Promise<void> => {
  const where = join(dir, POD_SUBNETS_FILE);
  const found = await readIfExists(where);
  if (found === undefined) return;
  const record = parsePodSubnets(found, where);
  if (!names.some((n) => record.hosts[n])) return;
  await writeFileAtomic(where, formatPodSubnets(freePodSubnets(record, names)), { mode: CERT_MODE });
};
