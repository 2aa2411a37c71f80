// The ports kubeinstall's components listen on, declared once: render writes them into flags and
// configs, deploy's preflight checks that they are free.
import type { ClusterModel, Role } from '../inventory/model.js';
import { ipFamily } from '../util/ip.js';
import { UNITS } from './units.js';

export const PORTS = {
  etcdClient: 2379,
  etcdPeer: 2380,
  etcdMetrics: 2381,
  controllerManager: 10257,
  scheduler: 10259,
  kubelet: 10250,
  kubeletHealthz: 10248,
  kubeProxyHealthz: 10256,
  kubeProxyMetrics: 10249,
} as const;

/** Where a listener only the host itself needs binds (kubeadm's choice): health, metrics and the
 * controllers' secure ports, reached by deploy over SSH on the host. */
export const LOOPBACK = '127.0.0.1';

/** Every address of the host, in the family of its internal address: kube-apiserver's bind address. */
export const anyAddress = (internalAddress: string): string => (ipFamily(internalAddress) === 6 ? '::' : '0.0.0.0');

export interface RolePort {
  readonly role: Role;
  readonly port: number;
  readonly unit: string;
  readonly what: string;
}

/** The ports each role's components listen on, and which unit owns each: a port held by our own
 * running unit is a re-run, not a conflict. */
export const rolePorts = (model: Pick<ClusterModel, 'apiServerPort'>): readonly RolePort[] => [
  { role: 'etcd', port: PORTS.etcdClient, unit: UNITS.etcd, what: 'etcd client' },
  { role: 'etcd', port: PORTS.etcdPeer, unit: UNITS.etcd, what: 'etcd peer' },
  { role: 'master', port: model.apiServerPort, unit: UNITS.apiserver, what: 'kube-apiserver' },
  { role: 'master', port: PORTS.controllerManager, unit: UNITS.controllerManager, what: 'kube-controller-manager' },
  { role: 'master', port: PORTS.scheduler, unit: UNITS.scheduler, what: 'kube-scheduler' },
  { role: 'node', port: PORTS.kubelet, unit: UNITS.kubelet, what: 'kubelet' },
  { role: 'node', port: PORTS.kubeProxyHealthz, unit: UNITS.kubeProxy, what: 'kube-proxy health' },
];
