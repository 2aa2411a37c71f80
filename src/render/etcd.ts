// An etcd member: its config file (client and peer URLs on its internal address, metrics on 127.0.0.1;
// why: docs/render.md) and its Type=notify unit.
//
// etcd reads initial-cluster and initial-cluster-state only when its data-dir is empty. The planned
// config names the member alone and says `existing`, so it depends on no other member: growing or
// shrinking the cluster changes no running member's file (no restart), and a member whose data was
// wiped fails to start instead of bootstrapping a cluster of its own. The first start of a member uses
// a bootstrap variant (`new` with every member for a new cluster; `existing` with the current member
// list for a member joining a running one), which deploy's etcd phase puts in place for that start only.
import { hostsWithRole, type ClusterModel, type Host } from '../inventory/model.js';
import { hostPort } from '../util/ip.js';
import { execStart, type Flag } from './command.js';
import { binPath, ETCD_DATA_DIR, ETCD_PKI_DIR, HOST_PATHS, unitPath } from './paths.js';
import { LOOPBACK, PORTS } from './ports.js';
import { textFile, type RoleRender } from './rendered.js';
import { renderAsset } from './template.js';
import { UNITS } from './units.js';

export const etcdClientUrl = (host: Host): string => `https://${hostPort(host.internalAddress, PORTS.etcdClient)}`;
export const etcdPeerUrl = (host: Host): string => `https://${hostPort(host.internalAddress, PORTS.etcdPeer)}`;

/** What a member's config says about the cluster of its first start. */
export interface EtcdBootstrap {
  readonly state: 'new' | 'existing';
  readonly members: readonly { readonly name: string; readonly peerUrl: string }[];
}

/** The planned config's: this member alone, joining (never founding) a cluster. */
export const steadyBootstrap = (host: Host): EtcdBootstrap => ({ state: 'existing', members: [{ name: host.name, peerUrl: etcdPeerUrl(host) }] });

/** A new cluster: every member of the inventory, started together. */
export const newClusterBootstrap = (model: ClusterModel): EtcdBootstrap => ({
  state: 'new',
  members: hostsWithRole(model, 'etcd').map((m) => ({ name: m.name, peerUrl: etcdPeerUrl(m) })),
});

/** Only read when a member bootstraps an empty data dir; `etcd restore` restores with the same one (docs/operations.md). */
export const etcdClusterToken = (model: ClusterModel): string => `${model.name}-etcd`;

/** `name=peerURL,...` of every member: the bootstrap membership, which `etcd restore` rebuilds too. */
export const etcdInitialCluster = (model: ClusterModel): string => initialClusterFlag(newClusterBootstrap(model));

/** `name=peerURL,...`, as etcd's initial-cluster reads it. */
const initialClusterFlag = (bootstrap: EtcdBootstrap): string => bootstrap.members.map((m) => `${m.name}=${m.peerUrl}`).join(',');

export const etcdFlags = (): Flag[] => [['config-file', HOST_PATHS.etcdConfig]];

export const renderEtcdConfig = (model: ClusterModel, host: Host, bootstrap: EtcdBootstrap = steadyBootstrap(host)): string =>
  renderAsset('config/etcd.conf.yml', {
    name: host.name,
    dataDir: ETCD_DATA_DIR,
    clientUrl: etcdClientUrl(host),
    peerUrl: etcdPeerUrl(host),
    metricsUrl: `http://${hostPort(LOOPBACK, PORTS.etcdMetrics)}`,
    initialCluster: initialClusterFlag(bootstrap),
    clusterState: bootstrap.state,
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
