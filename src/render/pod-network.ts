// The pod network of a kubelet host with cluster.network.plugin bridge (docs/network.md): the reference CNI plugins'
// configs (a bridge with the host's own pod subnet, host-local addresses, and loopback), and the routes to every other
// kubelet host's pod subnet through that host's internal address, put back at every boot by a oneshot unit that a
// changed route list only reloads. Pods talk across hosts unmasqueraded, with their own addresses.
import { CNI_FOLDER } from '../binaries/sources.js';
import { runsKubelet, type ClusterModel, type Host } from '../inventory/model.js';
import { gatewayOf } from '../network/pod-subnets.js';
import { ipFamily } from '../util/ip.js';
import { binPath, unitPath } from './paths.js';
import { textFile, type RoleRender } from './rendered.js';
import { UNITS } from './units.js';

/** Where the CNI plugins go when deploy uploads them (containerd's default bin_dir, and where manifests install theirs). */
export const CNI_BIN_DIR = '/opt/cni/bin';
/** Where Debian's and Ubuntu's containernetworking-plugins package puts them. */
export const OS_CNI_BIN_DIR = '/usr/lib/cni';
export const CNI_CONF_DIR = '/etc/cni/net.d';
/** The reference plugins the bridge network uses (portmap is uploaded for hostPort chains; it needs iptables). */
export const CNI_PLUGINS = ['bridge', 'host-local', 'loopback', 'portmap'] as const;
/** A CNI plugin in the binaries folder (`binaries fetch` puts them there), as the binary index names it. */
export const cniBinary = (plugin: string): string => `${CNI_FOLDER}/${plugin}`;
/** The bridge the plugin makes on each host, on the first pod started there. */
export const POD_BRIDGE = 'cni0';
/** The spec version of the configs: accepted by the reference plugins 1.0 and later and by containerd 1.6's libcni. */
export const CNI_VERSION = '1.0.0';

export const POD_ROUTES_SCRIPT = binPath('kubeinstall-pod-routes');
/** The routing protocol number the routes carry (iproute2's `proto`): ours, so the script prunes them and no one else's. */
export const POD_ROUTE_PROTO = 76;

export const bridgeConfPath = `${CNI_CONF_DIR}/10-bridge.conf`;
export const loopbackConfPath = `${CNI_CONF_DIR}/99-loopback.conf`;

/** A host's pod subnet and the others' routes, from the cluster folder's record. */
export interface PodRoute {
  readonly subnet: string;
  readonly via: string;
}

export const bridgeConf = (subnet: string): string =>
  `${JSON.stringify(
    {
      cniVersion: CNI_VERSION,
      name: 'bridge',
      type: 'bridge',
      bridge: POD_BRIDGE,
      isGateway: true,
      // no masquerade: pods reach other hosts' pods and the hosts with their own addresses (routes, not NAT)
      ipMasq: false,
      ipam: {
        type: 'host-local',
        ranges: [[{ subnet, gateway: gatewayOf(subnet) }]],
        routes: [{ dst: ipFamily(gatewayOf(subnet)) === 6 ? '::/0' : '0.0.0.0/0' }],
      },
    },
    null,
    2,
  )}\n`;

export const loopbackConf = (): string => `${JSON.stringify({ cniVersion: CNI_VERSION, name: 'lo', type: 'loopback' }, null, 2)}\n`;

/** Adds or replaces each route, then removes ours that are no longer listed; `stop` removes them all. The gateways must be
 * on-link, and the interface may come up after the unit starts: it tries again for a minute. */
export const podRoutesScript = (routes: readonly PodRoute[], family: 4 | 6): string => {
  const ip = family === 6 ? 'ip -6' : 'ip -4';
  return [
    '#!/bin/sh',
    `# kubeinstall: routes to the other kubelet hosts' pod subnets (cluster.network.plugin bridge), run by ${UNITS.podRoutes}.`,
    'set -u',
    `routes='${routes.map((r) => `${r.subnet}=${r.via}`).join(' ')}'`,
    `if [ "\${1:-}" = stop ]; then ${ip} route flush proto ${POD_ROUTE_PROTO}; exit 0; fi`,
    'apply() {',
    `  for r in $routes; do ${ip} route replace "\${r%%=*}" via "\${r#*=}" proto ${POD_ROUTE_PROTO} || return 1; done`,
    `  ${ip} route show proto ${POD_ROUTE_PROTO} | while read -r dst _; do`,
    `    case " $routes " in *" $dst="*) ;; *) ${ip} route del "$dst" proto ${POD_ROUTE_PROTO} ;; esac`,
    '  done',
    '}',
    'i=0',
    'until apply; do i=$((i + 1)); [ "$i" -ge 60 ] && exit 1; sleep 1; done',
    '',
  ].join('\n');
};

export const podRoutesUnit = (): string =>
  [
    '[Unit]',
    "Description=kubeinstall: routes to the other kubelet hosts' pod subnets",
    'Wants=network-online.target',
    'After=network-online.target',
    '',
    '[Service]',
    'Type=oneshot',
    'RemainAfterExit=yes',
    `ExecStart=${POD_ROUTES_SCRIPT}`,
    // a changed route list is taken without removing the routes in between
    `ExecReload=${POD_ROUTES_SCRIPT}`,
    `ExecStop=${POD_ROUTES_SCRIPT} stop`,
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');

/** Every other kubelet host's subnet via its internal address, in inventory order. */
export const podRoutesOf = (model: Pick<ClusterModel, 'hosts'>, host: Host, subnets: Readonly<Record<string, string>>): PodRoute[] =>
  model.hosts.filter((h) => runsKubelet(h) && h.name !== host.name && subnets[h.name]).map((h) => ({ subnet: subnets[h.name]!, via: h.internalAddress }));

export const renderPodNetwork = (model: Pick<ClusterModel, 'hosts' | 'podCidr'>, host: Host, subnets: Readonly<Record<string, string>>): RoleRender => ({
  files: [
    // containerd picks up a changed CNI config by itself
    textFile(bridgeConfPath, bridgeConf(subnets[host.name]!), []),
    textFile(loopbackConfPath, loopbackConf(), []),
    { ...textFile(POD_ROUTES_SCRIPT, podRoutesScript(podRoutesOf(model, host, subnets), model.podCidr.family), [], 0o755), reloads: [UNITS.podRoutes] },
    textFile(unitPath(UNITS.podRoutes), podRoutesUnit(), [UNITS.podRoutes]),
  ],
  services: [{ unit: UNITS.podRoutes, phase: 'node' }],
});
