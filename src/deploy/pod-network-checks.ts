// Preflight of the bridge pod network (cluster.network.plugin bridge, docs/network.md): each kubelet host reaches every
// other one's internal address on a network it is on (the pod routes point there, one hop), and has the CNI plugins
// when deploy does not upload them (the binaries folder has no cni/).
import { podSubnetHosts } from '../network/pod-subnets.js';
import { CNI_BIN_DIR, OS_CNI_BIN_DIR } from '../render/pod-network.js';
import type { HostPlan } from '../render/types.js';
import { ipFamily, ipToBigInt } from '../util/ip.js';
import type { ClusterModel } from '../inventory/model.js';
import type { Finding, PreflightCheck, PreflightInput } from './preflight-checks.js';

/** The plugins the rendered configs name (portmap is not in the chain). */
const NEEDED_PLUGINS = ['bridge', 'host-local', 'loopback'] as const;

const uploadsPlugins = (hp: HostPlan): boolean => hp.files.some((f) => f.path === `${CNI_BIN_DIR}/bridge`);
const needsOsPlugins = (model: Pick<ClusterModel, 'network'>, hp: HostPlan): boolean =>
  podSubnetHosts({ network: model.network, hosts: [hp.host] }).length > 0 && !uploadsPlugins(hp);

/** The OS package's plugins facts look for, on a kubelet host that does not get them uploaded. */
export const osCniPluginsQuery = (model: Pick<ClusterModel, 'network'>, hp: HostPlan): string[] =>
  needsOsPlugins(model, hp) ? NEEDED_PLUGINS.map((p) => `${OS_CNI_BIN_DIR}/${p}`) : [];

/** Whether `address` is in the network of `addressWithPrefix` (`198.18.62.11/24`, as `ip addr` prints it). */
export const onNetwork = (addressWithPrefix: string, address: string): boolean => {
  const [own = '', prefixText = ''] = addressWithPrefix.split('/');
  const family = ipFamily(own);
  if (!family || family !== ipFamily(address)) return false;
  const hostBits = BigInt((family === 4 ? 32 : 128) - Number(prefixText));
  return ipToBigInt(own) >> hostBits === ipToBigInt(address) >> hostBits;
};

const sharedNetworkFindings = ({ model, hostPlans, facts }: PreflightInput): Finding[] => {
  const kubeletHosts = podSubnetHosts({ network: model.network, hosts: hostPlans.map((hp) => hp.host) });
  return kubeletHosts.flatMap((host) => {
    const networks = facts.get(host.name)?.networks.filter((n) => !/^(127\.|::1\/|fe80:)/.test(n));
    if (!networks) return [];
    const away = podSubnetHosts(model).filter((o) => o.name !== host.name && !networks.some((n) => onNetwork(n, o.internalAddress)));
    return away.length
      ? [
          {
            check: 'pod-network',
            severity: 'error' as const,
            host: host.name,
            message:
              "the bridge pod network routes each host's pods through its internal address, one hop: " +
              `${away.map((o) => `${o.name} (${o.internalAddress})`).join(', ')} ` +
              `${away.length === 1 ? 'is' : 'are'} not on a network of ${host.name} (${networks.join(', ') || 'no addresses'}); ` +
              'put the kubelet hosts on one network, or use cluster.network.plugin manifest with an overlay network (e.g. Flannel VXLAN, Calico IPIP)',
          },
        ]
      : [];
  });
};

const pluginFindings = ({ model, hostPlans, facts }: PreflightInput): Finding[] =>
  hostPlans.flatMap((hp) => {
    const f = facts.get(hp.host.name);
    const missing = f && needsOsPlugins(model, hp) ? NEEDED_PLUGINS.filter((p) => !f.commands.has(`${OS_CNI_BIN_DIR}/${p}`)) : [];
    return missing.length
      ? [
          {
            check: 'cni-plugins',
            severity: 'error' as const,
            host: hp.host.name,
            message:
              `the CNI plugins ${missing.join(', ')} are not in ${OS_CNI_BIN_DIR} and the binaries folder has no cni/ to upload: ` +
              `put the reference plugins in ${model.binariesDir}/cni/ (\`kubeinstall binaries fetch\`) or install the OS package (containernetworking-plugins)`,
          },
        ]
      : [];
  });

export const POD_NETWORK_CHECKS: readonly PreflightCheck[] = [
  {
    name: 'pod-network',
    description: "network plugin bridge: every kubelet host is on a network of every other (the pod routes go through the hosts' internal addresses)",
    run: sharedNetworkFindings,
  },
  {
    name: 'cni-plugins',
    description: 'network plugin bridge: the CNI plugins are uploaded from the binaries folder, or the host has the OS package',
    run: pluginFindings,
  },
];
