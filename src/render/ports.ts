// The ports kubeinstall's components listen on, declared once: render writes them into flags and
// configs, deploy's preflight checks that they are free.
import { NODE_LOCAL_API_HOST, runsLocalLoadBalancer, type ClusterModel, type Host, type Role } from '../inventory/model.js';
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
  /** The address the component binds, as rendered: the host's internal address, 127.0.0.1 or a wildcard. */
  readonly address: string;
  readonly unit: string;
  readonly what: string;
}

/** The ports each role's components listen on, where, and which unit owns each: a port held by our own
 * running unit is a re-run, not a conflict. The node-local load balancer counts as the node role's, on the
 * hosts that run it. */
export const rolePorts = (model: Pick<ClusterModel, 'apiServerPort' | 'apiEndpoint'>, host: Pick<Host, 'internalAddress' | 'roles'>): readonly RolePort[] => {
  const internal = host.internalAddress;
  return [
    { role: 'etcd', port: PORTS.etcdClient, address: internal, unit: UNITS.etcd, what: 'etcd client' },
    { role: 'etcd', port: PORTS.etcdPeer, address: internal, unit: UNITS.etcd, what: 'etcd peer' },
    { role: 'etcd', port: PORTS.etcdMetrics, address: LOOPBACK, unit: UNITS.etcd, what: 'etcd metrics' },
    { role: 'master', port: model.apiServerPort, address: anyAddress(internal), unit: UNITS.apiserver, what: 'kube-apiserver' },
    { role: 'master', port: PORTS.controllerManager, address: LOOPBACK, unit: UNITS.controllerManager, what: 'kube-controller-manager' },
    { role: 'master', port: PORTS.scheduler, address: LOOPBACK, unit: UNITS.scheduler, what: 'kube-scheduler' },
    { role: 'node', port: PORTS.kubelet, address: internal, unit: UNITS.kubelet, what: 'kubelet' },
    { role: 'node', port: PORTS.kubeletHealthz, address: LOOPBACK, unit: UNITS.kubelet, what: 'kubelet health' },
    { role: 'node', port: PORTS.kubeProxyHealthz, address: LOOPBACK, unit: UNITS.kubeProxy, what: 'kube-proxy health' },
    { role: 'node', port: PORTS.kubeProxyMetrics, address: LOOPBACK, unit: UNITS.kubeProxy, what: 'kube-proxy metrics' },
    ...(runsLocalLoadBalancer(model, host)
      ? [{ role: 'node' as const, port: model.apiServerPort, address: NODE_LOCAL_API_HOST, unit: UNITS.kubeLb, what: 'kube-lb (node-local API load balancer)' }]
      : []),
  ];
};
