// An etcd member: its config file (client and peer URLs on its internal address, metrics on 127.0.0.1;
// why: docs/render.md) and its Type=notify unit.
import { hostsWithRole, type ClusterModel, type Host } from '../inventory/model.js';
import { hostPort } from '../util/ip.js';
import { execStart, type Flag } from './command.js';
import { binPath, ETCD_DATA_DIR, ETCD_PKI_DIR, HOST_PATHS, unitPath } from './paths.js';
import { LOOPBACK, PORTS } from './ports.js';
import { textFile, type RoleRender } from './rendered.js';
import { renderAsset } from './template.js';
import { UNITS } from './units.js';

export const etcdClientUrl = (host: Host): string => `https://${hostPort(host.internalAddress, PORTS.etcdClient)}`;
const peerUrl = (host: Host): string => `https://${hostPort(host.internalAddress, PORTS.etcdPeer)}`;

export const etcdFlags = (): Flag[] => [['config-file', HOST_PATHS.etcdConfig]];

export const renderEtcdConfig = (model: ClusterModel, host: Host): string =>
  renderAsset('config/etcd.conf.yml', {
    name: host.name,
    dataDir: ETCD_DATA_DIR,
    clientUrl: etcdClientUrl(host),
    peerUrl: peerUrl(host),
    metricsUrl: `http://${hostPort(LOOPBACK, PORTS.etcdMetrics)}`,
    initialCluster: hostsWithRole(model, 'etcd')
      .map((m) => `${m.name}=${peerUrl(m)}`)
      .join(','),
    clusterToken: `${model.name}-etcd`,
    pki: ETCD_PKI_DIR,
  });

export const renderEtcd = (model: ClusterModel, host: Host): RoleRender => ({
  files: [
    textFile(HOST_PATHS.etcdConfig, renderEtcdConfig(model, host), [UNITS.etcd]),
    textFile(unitPath(UNITS.etcd), renderAsset('units/etcd.service', { name: host.name, command: execStart(binPath('etcd'), etcdFlags()) }), [UNITS.etcd]),
  ],
  services: [{ unit: UNITS.etcd, phase: 'etcd', health: { kind: 'etcd' } }],
});
