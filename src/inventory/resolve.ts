// Cross-field checks and the resolved model, one concern a module: versions, networks, hosts, endpoint.
// Input: schema-valid data with the schema's defaults applied (input.ts).
import { dirname, resolve as resolvePath } from 'node:path';
import type { FieldProblem } from './validate.js';
import { vrrpRouterIdOf, type Cidr, type ClusterModel } from './model.js';
import { collectProblems, expandPath, type InventoryInput } from './input.js';
import { resolveVersions } from './resolve-versions.js';
import { resolveNetworks } from './resolve-networks.js';
import { resolveHosts } from './resolve-hosts.js';
import { resolveEndpoint } from './resolve-endpoint.js';
import { cidrText, type ParsedCidr } from '../util/ip.js';
import { minorOf } from '../versions.js';

export interface ResolveOptions {
  /** `deploy` needs the binaries folder; `certs` and `check` do not. */
  readonly requireBinaries?: boolean;
  readonly pathExists?: (path: string) => boolean;
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
  const apiEndpoint = resolveEndpoint(cluster, hosts, networks, report);
  const binariesDir = expandPath(cluster.binariesDir, baseDir);
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
      clusterDomain: cluster.clusterDomain,
      dns: cluster.dns,
      imageRepository: cluster.imageRepository,
      apiServerExtraSans: cluster.apiServerExtraSans ?? [],
      keyAlgorithm: cluster.keyAlgorithm,
      caValidityDays: cluster.caValidityDays,
      certValidityDays: cluster.certValidityDays,
      binariesDir,
      clusterDir: cluster.clusterDir ? expandPath(cluster.clusterDir, baseDir) : resolvePath(baseDir, cluster.name),
      installPackages: cluster.installPackages,
      hosts,
    },
  };
};
