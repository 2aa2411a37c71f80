// The ports each role's components listen on, and which unit owns each: a port held by our own
// running unit is a re-run, not a conflict.
import type { Role } from '../inventory/model.js';

export interface RolePort {
  readonly role: Role;
  readonly port: number | 'apiServerPort';
  readonly unit: string;
  readonly what: string;
}

export const ROLE_PORTS: readonly RolePort[] = [
  { role: 'etcd', port: 2379, unit: 'etcd.service', what: 'etcd client' },
  { role: 'etcd', port: 2380, unit: 'etcd.service', what: 'etcd peer' },
  { role: 'master', port: 'apiServerPort', unit: 'kube-apiserver.service', what: 'kube-apiserver' },
  { role: 'master', port: 10257, unit: 'kube-controller-manager.service', what: 'kube-controller-manager' },
  { role: 'master', port: 10259, unit: 'kube-scheduler.service', what: 'kube-scheduler' },
  { role: 'node', port: 10250, unit: 'kubelet.service', what: 'kubelet' },
  { role: 'node', port: 10256, unit: 'kube-proxy.service', what: 'kube-proxy health' },
];
