// Cross-field checks and the resolved model, one concern a module: versions, networks, hosts, endpoint.
// Input: schema-valid data with the schema's defaults applied (input.ts).
import { dirname, resolve as resolvePath } from 'node:path';
import type { FieldProblem } from './validate.js';
import { vrrpRouterIdOf, type Cidr, type ClusterModel } from './model.js';
import { collectProblems, expandPath, type InventoryInput } from './input.js';
import { resolveVersions } from './resolve-versions.js';
import { resolveNetworks, resolvePodNetwork } from './resolve-networks.js';
import { resolveHosts } from './resolve-hosts.js';
import { resolveEndpoint } from './resolve-endpoint.js';
import { resolveRegistries } from './resolve-registries.js';
import { podSubnetHosts, subnetCapacity } from '../network/pod-subnets.js';
import { cidrText, type ParsedCidr } from '../util/ip.js';
import { minorOf } from '../versions.js';

export interface ResolveOptions {
  /** `deploy` needs the binaries folder; `certs` and `check` do not. */
  readonly requireBinaries?: boolean;
  readonly pathExists?: (path: string) => boolean;
  /** Reads a file the inventory names (cluster.network.manifest); undefined when it cannot. */
  readonly readText?: (path: string) => string | undefined;
}

const toCidr = (p: ParsedCidr): Cidr => ({ text: cidrText(p), family: p.family, prefix: p.prefix });

export const resolveInventory = (
  input: InventoryInput,
  inventoryPath: string,
  opts: ResolveOptions = {},
): { model?: ClusterModel; problems: FieldProblem[] } => {
  const report = collectProblems();
  const baseDir = dirname(inventoryPath);
  const { cluster } = input;
  const versions = resolveVersions(cluster, report);
  const networks = resolveNetworks(cluster, report);
  const hosts = resolveHosts(input, networks, baseDir, report);
  const network = resolvePodNetwork(cluster, networks.podCidr, baseDir, opts.readText, report);
  const apiEndpoint = resolveEndpoint(cluster, hosts, networks, report);
  const subnetHosts = podSubnetHosts({ network, hosts }).length;
  const capacity = subnetCapacity(networks.podCidr, network.nodeSubnetSize);
  if (network.nodeSubnetSize >= networks.podCidr.prefix && subnetHosts > capacity) {
    report.error(
      ['cluster', 'podCidr'],
      `${cluster.podCidr} holds ${capacity} /${network.nodeSubnetSize} pod subnet${capacity === 1 ? '' : 's'}, fewer than the ${subnetHosts} kubelet hosts ` +
        '(network plugin bridge gives each its own): use a larger podCidr or a longer cluster.network.nodeSubnetSize',
    );
  }
  const binariesDir = expandPath(cluster.binariesDir, baseDir);
  const registries = resolveRegistries(cluster.registries ?? [], baseDir, report);
  if (opts.requireBinaries && !(opts.pathExists?.(binariesDir) ?? false)) {
    report.error(['cluster', 'binariesDir'], `binaries folder ${binariesDir} does not exist`);
  }

  const { problems } = report;
  const { kubernetesServiceIp, clusterDnsIp } = networks;
  if (problems.some((p) => p.severity === 'error') || !apiEndpoint || !kubernetesServiceIp || !clusterDnsIp) return { problems };
  return {
    problems,
    model: {
      inventoryPath,
      name: cluster.name,
      ...versions,
      kubernetesMinor: minorOf(versions.kubernetesVersion),
      apiEndpoint,
      apiServerPort: cluster.apiServerPort,
      vrrpRouterId: cluster.vrrpRouterId ?? vrrpRouterIdOf(cluster.name),
      serviceCidr: toCidr(networks.serviceCidr),
      kubernetesServiceIp,
      clusterDnsIp,
      podCidr: toCidr(networks.podCidr),
      network,
      clusterDomain: cluster.clusterDomain,
      dns: cluster.dns,
      imageRepository: cluster.imageRepository,
      registries,
      apiServerExtraSans: cluster.apiServerExtraSans ?? [],
      keyAlgorithm: cluster.keyAlgorithm,
      caValidityDays: cluster.caValidityDays,
      certValidityDays: cluster.certValidityDays,
      apiServerShutdownDelaySeconds: cluster.apiServerShutdownDelaySeconds,
      binariesDir,
      clusterDir: cluster.clusterDir ? expandPath(cluster.clusterDir, baseDir) : resolvePath(baseDir, cluster.name),
      installPackages: cluster.installPackages,
      hosts,
    },
  };
};
