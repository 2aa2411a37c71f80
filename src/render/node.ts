// A worker node: host preparation drop-ins, containerd, kubelet (KubeletConfiguration) and kube-proxy
// (KubeProxyConfiguration). Where each listens, and why: docs/render.md.
import type { ClusterModel, Host } from '../inventory/model.js';
import { desiredNodeMeta } from '../inventory/node-meta.js';
import { hostPort } from '../util/ip.js';
import { execStart, type Flag } from './command.js';
import { clusterImages } from './images.js';
import { binPath, HOST_PATHS, pki, RESOLV_CONF, unitPath } from './paths.js';
import { LOOPBACK, PORTS } from './ports.js';
import { textFile, type RoleRender } from './rendered.js';
import { renderAsset } from './template.js';
import { UNITS } from './units.js';

/** YAML scalars from the inventory go in double-quoted (JSON strings are valid YAML), so no value can change the structure. */
const q = (value: string): string => JSON.stringify(value);

export const kubeletFlags = (host: Host): Flag[] => [
  ['config', HOST_PATHS.kubeletConfig],
  ['kubeconfig', HOST_PATHS.kubeletConf],
  ['node-ip', host.internalAddress],
  // The node name must match the CN of kubelet.conf's certificate (system:node:<name>), whatever the hostname.
  ['hostname-override', host.name],
];

export const kubeProxyFlags = (): Flag[] => [['config', HOST_PATHS.kubeProxyConfig]];

export const containerdFlags = (): Flag[] => [['config', HOST_PATHS.containerdConfig]];

/** The kubelet's resolvConf on a host, from whether systemd-resolved is active there (a fact deploy gathers). */
export const kubeletResolvConf = (systemdResolvedActive: boolean): string => (systemdResolvedActive ? RESOLV_CONF.systemdResolved : RESOLV_CONF.plain);

/** `resolvConf`: the plain file until deploy's facts say the host runs systemd-resolved (plan.ts withKubeletResolvConf). */
export const renderKubeletConfig = (model: ClusterModel, host: Host, resolvConf: string = RESOLV_CONF.plain): string =>
  renderAsset('config/kubelet-config.yaml', {
    address: q(host.internalAddress),
    port: String(PORTS.kubelet),
    healthzBindAddress: q(LOOPBACK),
    healthzPort: String(PORTS.kubeletHealthz),
    clientCaFile: q(pki('ca.crt')),
    tlsCertFile: q(HOST_PATHS.kubeletServingCert),
    tlsPrivateKeyFile: q(HOST_PATHS.kubeletServingKey),
    clusterDns: q(model.clusterDnsIp),
    clusterDomain: q(model.clusterDomain),
    resolvConf: q(resolvConf),
    // A flow sequence of JSON objects (valid YAML): the taints the Node is created with, so a new master is
    // never schedulable before deploy's API patch (which also keeps them in step later: the kubelet applies these only at registration).
    registerWithTaints: JSON.stringify(
      desiredNodeMeta(host).taints.map(({ key, value, effect }) => ({ key, ...(value === undefined ? {} : { value }), effect })),
    ),
  });

export const renderKubeProxyConfig = (model: ClusterModel, host: Host): string =>
  renderAsset('config/kube-proxy-config.yaml', {
    address: q(host.internalAddress),
    healthzBindAddress: q(hostPort(LOOPBACK, PORTS.kubeProxyHealthz)),
    metricsBindAddress: q(hostPort(LOOPBACK, PORTS.kubeProxyMetrics)),
    nodeName: q(host.name),
    kubeconfig: q(HOST_PATHS.kubeProxyKubeconfig),
    clusterCidr: q(model.podCidr.text),
  });

const onHost = (url: string) => ({ kind: 'on-host' as const, url });

const unit = (name: string, binary: string, flags: readonly Flag[]) =>
  textFile(unitPath(name), renderAsset(`units/${name}`, { command: execStart(binPath(binary), flags) }), [name]);

export const renderNode = (model: ClusterModel, host: Host): RoleRender => ({
  files: [
    textFile(HOST_PATHS.modulesLoad, renderAsset('host/modules-load.conf', {}), []),
    textFile(HOST_PATHS.sysctl, renderAsset('host/sysctl.conf', {}), []),
    textFile(HOST_PATHS.containerdConfig, renderAsset('config/containerd-config.toml', { sandboxImage: clusterImages(model).pause }), [UNITS.containerd]),
    textFile(HOST_PATHS.kubeletConfig, renderKubeletConfig(model, host), [UNITS.kubelet]),
    textFile(HOST_PATHS.kubeProxyConfig, renderKubeProxyConfig(model, host), [UNITS.kubeProxy]),
    unit(UNITS.containerd, 'containerd', containerdFlags()),
    unit(UNITS.kubelet, 'kubelet', kubeletFlags(host)),
    unit(UNITS.kubeProxy, 'kube-proxy', kubeProxyFlags()),
  ],
  services: [
    { unit: UNITS.containerd, phase: 'node' },
    { unit: UNITS.kubelet, phase: 'node', health: onHost(`http://${hostPort(LOOPBACK, PORTS.kubeletHealthz)}/healthz`) },
    { unit: UNITS.kubeProxy, phase: 'node', health: onHost(`http://${hostPort(LOOPBACK, PORTS.kubeProxyHealthz)}/healthz`) },
  ],
});
