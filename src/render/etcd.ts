// An etcd member: its config file (client and peer URLs on its internal address, metrics on 127.0.0.1;
// why: docs/render.md) and its Type=notify unit.
import { hostsWithRole, type ClusterModel, type Host } from '../inventory/model.js';
import { hostPort } from '../util/ip.js';
import { execStart, type Flag } from './command.js';
import { binPath, ETCD_PKI_DIR, HOST_PATHS, unitPath } from './paths.js';
import { LOOPBACK, PORTS } from './ports.js';
import { textFile, type RoleRender } from './rendered.js';
import { renderAsset } from './template.js';
import { UNITS } from './units.js';

export const etcdClientUrl = (host: Host): string => `https://${hostPort(host.internalAddress, PORTS.etcdClient)}`;
export const etcdPeerUrl = (host: Host): string => `https://${hostPort(host.internalAddress, PORTS.etcdPeer)}`;

/** Only read when a member bootstraps an empty data dir; `etcd restore` restores with the same one (docs/operations.md). */
export const etcdClusterToken = (model: ClusterModel): string => `${model.name}-etcd`;

/** `name=peerURL,...` of every member: the bootstrap membership, which `etcd restore` rebuilds too. */
export const etcdInitialCluster = (model: ClusterModel): string =>
  hostsWithRole(model, 'etcd')
    .map((m) => `${m.name}=${etcdPeerUrl(m)}`)
    .join(',');

export const etcdFlags = (): Flag[] => [['config-file', HOST_PATHS.etcdConfig]];

export const renderEtcdConfig = (model: ClusterModel, host: Host): string =>
  renderAsset('config/etcd.conf.yml', {
    name: host.name,
    clientUrl: etcdClientUrl(host),
    peerUrl: etcdPeerUrl(host),
    metricsUrl: `http://${hostPort(LOOPBACK, PORTS.etcdMetrics)}`,
    dataDir: HOST_PATHS.etcdDataDir,
    initialCluster: etcdInitialCluster(model),
    clusterToken: etcdClusterToken(model),
    pki: ETCD_PKI_DIR,
  });

export const renderEtcd = (model: ClusterModel, host: Host): RoleRender => ({
  files: [
    textFile(HOST_PATHS.etcdConfig, renderEtcdConfig(model, host), [UNITS.etcd]),
    textFile(unitPath(UNITS.etcd), renderAsset('units/etcd.service', { name: host.name, command: execStart(binPath('etcd'), etcdFlags()) }), [UNITS.etcd]),
  ],
  services: [{ unit: UNITS.etcd, phase: 'etcd', health: { kind: 'etcd' } }],
});
