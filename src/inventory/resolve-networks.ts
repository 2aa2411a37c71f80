// The service and pod ranges: one family, apart, and a service range kube-apiserver accepts; the pod network.
import yaml from 'js-yaml';
import { expandPath, type ClusterInput, type Report } from './input.js';
import type { PodNetwork } from './model.js';
import { cidrsOverlap, nthAddress, parseCidr, type ParsedCidr } from '../util/ip.js';

export interface Networks {
  readonly serviceCidr: ParsedCidr;
  readonly podCidr: ParsedCidr;
  /** The first service address (the `kubernetes` service); undefined when the range is too small. */
  readonly kubernetesServiceIp?: string;
  /** The tenth (the cluster DNS). */
  readonly clusterDnsIp?: string;
}

export const resolveNetworks = (cluster: ClusterInput, report: Report): Networks => {
  // The schema's `cidr` format has checked both.
  const serviceCidr = parseCidr(cluster.serviceCidr) as ParsedCidr;
  const podCidr = parseCidr(cluster.podCidr) as ParsedCidr;
  if (serviceCidr.family !== podCidr.family) {
    report.error(
      ['cluster', 'podCidr'],
      `pod CIDR ${cluster.podCidr} and service CIDR ${cluster.serviceCidr} are of different IP families (dual-stack is not supported)`,
    );
  } else if (cidrsOverlap(serviceCidr, podCidr)) {
    report.error(['cluster', 'podCidr'], `pod CIDR ${cluster.podCidr} overlaps service CIDR ${cluster.serviceCidr}`);
  }
  const kubernetesServiceIp = nthAddress(serviceCidr, 1);
  const clusterDnsIp = nthAddress(serviceCidr, 10);
  if (!clusterDnsIp) {
    report.error(['cluster', 'serviceCidr'], `service CIDR ${cluster.serviceCidr} is too small: it needs at least 11 addresses`);
  } else if (serviceCidr.family === 6 ? serviceCidr.prefix < 108 : serviceCidr.prefix < 12) {
    // kube-apiserver refuses service ranges with more than 2^20 addresses (IPv4 /12; IPv6 /108).
    report.error(['cluster', 'serviceCidr'], `service CIDR ${cluster.serviceCidr} is too large: kube-apiserver allows at most /12 (IPv4) or /108 (IPv6)`);
  }
  return { serviceCidr, podCidr, kubernetesServiceIp, clusterDnsIp };
};

/** The controller-manager's defaults (--node-cidr-mask-size-ipv4 and -ipv6). */
const DEFAULT_NODE_SUBNET_SIZE = { 4: 24, 6: 64 } as const;
/** The smallest pod subnet a host can use: the bridge's gateway and at least one pod besides network and broadcast. */
const MAX_NODE_SUBNET_SIZE = { 4: 30, 6: 126 } as const;

/** The objects of a manifest: YAML documents, each a mapping with apiVersion, kind and metadata.name. */
export const manifestProblem = (text: string): string | undefined => {
  let docs: unknown[];
  try {
    docs = yaml.loadAll(text);
  } catch (err) {
    return `not valid YAML: ${(err as Error).message.split('\n')[0]}`;
  }
  const objects = docs.filter((d) => d !== null && d !== undefined);
  if (objects.length === 0) return 'holds no objects';
  for (const [i, d] of docs.entries()) {
    if (d === null || d === undefined) continue;
    const o = d as { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown } };
    if (typeof o !== 'object' || Array.isArray(o) || typeof o.apiVersion !== 'string' || typeof o.kind !== 'string' || typeof o.metadata?.name !== 'string') {
      return `document ${i + 1} is not a Kubernetes object (apiVersion, kind and metadata.name)`;
    }
  }
  return undefined;
};

export const resolvePodNetwork = (
  cluster: ClusterInput,
  podCidr: ParsedCidr,
  baseDir: string,
  readText: ((path: string) => string | undefined) | undefined,
  report: Report,
): PodNetwork => {
  const { plugin } = cluster.network;
  const nodeSubnetSize = cluster.network.nodeSubnetSize ?? DEFAULT_NODE_SUBNET_SIZE[podCidr.family];
  const at = ['cluster', 'network'];
  if (nodeSubnetSize < podCidr.prefix) {
    report.error([...at, 'nodeSubnetSize'], `/${nodeSubnetSize} is larger than the pod CIDR ${cluster.podCidr} it is carved from`);
  } else if (nodeSubnetSize > MAX_NODE_SUBNET_SIZE[podCidr.family]) {
    report.error([...at, 'nodeSubnetSize'], `/${nodeSubnetSize} leaves no room for pods (at most /${MAX_NODE_SUBNET_SIZE[podCidr.family]})`);
  }
  if (plugin !== 'manifest') {
    if (cluster.network.manifest) report.warn([...at, 'manifest'], `ignored: plugin is ${plugin}, not manifest`);
    return { plugin, nodeSubnetSize };
  }
  if (!cluster.network.manifest) {
    report.error([...at, 'manifest'], 'plugin manifest needs the manifest file to apply');
    return { plugin, nodeSubnetSize };
  }
  const path = expandPath(cluster.network.manifest, baseDir);
  const text = readText?.(path);
  const problem = text === undefined ? 'cannot read it' : manifestProblem(text);
  if (problem) report.error([...at, 'manifest'], `${path}: ${problem}`);
  return { plugin, nodeSubnetSize, manifest: { path, yaml: text ?? '' } };
};
