// Which PKI files and kubeconfigs each role's hosts receive, as one table: source in the cluster folder
// (`<host>` = the host's name) -> path on the host, and the units that must restart when it changes.
// Minimality lives here: only masters get ca.key (the controller-manager signs with it), sa.key and the
// Secrets encryption key (inside the EncryptionConfiguration); a node gets certificates and its own
// kubeconfigs, never a CA key.
import type { Host, Role } from '../inventory/model.js';
import { ENCRYPTION_KEY_FILE } from '../pki/encryption.js';
import { renderEncryptionConfig } from './encryption.js';
import { etcdPki, HOST_PATHS, pki } from './paths.js';
import { UNITS } from './units.js';

export interface PkiPlacement {
  readonly role: Role;
  readonly from: string;
  readonly to: string;
  readonly restarts: readonly string[];
  /** What the host gets instead of the file itself (a config built from it). */
  readonly render?: (data: Buffer) => Buffer;
}

const { etcd, apiserver, controllerManager, scheduler, kubelet, kubeProxy } = UNITS;

export const PKI_PLACEMENTS: readonly PkiPlacement[] = [
  { role: 'etcd', from: 'pki/etcd/ca.crt', to: etcdPki('ca.crt'), restarts: [etcd] },
  { role: 'etcd', from: 'pki/etcd/members/<host>/server.crt', to: etcdPki('server.crt'), restarts: [etcd] },
  { role: 'etcd', from: 'pki/etcd/members/<host>/server.key', to: etcdPki('server.key'), restarts: [etcd] },
  { role: 'etcd', from: 'pki/etcd/members/<host>/peer.crt', to: etcdPki('peer.crt'), restarts: [etcd] },
  { role: 'etcd', from: 'pki/etcd/members/<host>/peer.key', to: etcdPki('peer.key'), restarts: [etcd] },
  // For health probes run on the member itself (etcdctl endpoint health).
  { role: 'etcd', from: 'pki/etcd/healthcheck-client.crt', to: etcdPki('healthcheck-client.crt'), restarts: [] },
  { role: 'etcd', from: 'pki/etcd/healthcheck-client.key', to: etcdPki('healthcheck-client.key'), restarts: [] },

  { role: 'master', from: 'pki/ca.crt', to: pki('ca.crt'), restarts: [apiserver, controllerManager] },
  { role: 'master', from: 'pki/ca.key', to: pki('ca.key'), restarts: [controllerManager] },
  { role: 'master', from: 'pki/apiserver.crt', to: pki('apiserver.crt'), restarts: [apiserver] },
  { role: 'master', from: 'pki/apiserver.key', to: pki('apiserver.key'), restarts: [apiserver] },
  { role: 'master', from: 'pki/apiserver-kubelet-client.crt', to: pki('apiserver-kubelet-client.crt'), restarts: [apiserver] },
  { role: 'master', from: 'pki/apiserver-kubelet-client.key', to: pki('apiserver-kubelet-client.key'), restarts: [apiserver] },
  { role: 'master', from: 'pki/apiserver-etcd-client.crt', to: pki('apiserver-etcd-client.crt'), restarts: [apiserver] },
  { role: 'master', from: 'pki/apiserver-etcd-client.key', to: pki('apiserver-etcd-client.key'), restarts: [apiserver] },
  { role: 'master', from: 'pki/etcd/ca.crt', to: etcdPki('ca.crt'), restarts: [apiserver] },
  { role: 'master', from: 'pki/front-proxy-ca.crt', to: pki('front-proxy-ca.crt'), restarts: [apiserver, controllerManager] },
  { role: 'master', from: 'pki/front-proxy-client.crt', to: pki('front-proxy-client.crt'), restarts: [apiserver] },
  { role: 'master', from: 'pki/front-proxy-client.key', to: pki('front-proxy-client.key'), restarts: [apiserver] },
  { role: 'master', from: 'pki/sa.key', to: pki('sa.key'), restarts: [apiserver, controllerManager] },
  { role: 'master', from: 'pki/sa.pub', to: pki('sa.pub'), restarts: [apiserver] },
  { role: 'master', from: ENCRYPTION_KEY_FILE, to: HOST_PATHS.encryptionConfig, restarts: [apiserver], render: renderEncryptionConfig },
  { role: 'master', from: 'kubeconfigs/admin.conf', to: HOST_PATHS.adminConf, restarts: [] },
  { role: 'master', from: 'kubeconfigs/masters/<host>/controller-manager.conf', to: HOST_PATHS.controllerManagerConf, restarts: [controllerManager] },
  { role: 'master', from: 'kubeconfigs/masters/<host>/scheduler.conf', to: HOST_PATHS.schedulerConf, restarts: [scheduler] },

  { role: 'node', from: 'pki/ca.crt', to: pki('ca.crt'), restarts: [kubelet] },
  { role: 'node', from: 'kubeconfigs/nodes/<host>/kubelet.conf', to: HOST_PATHS.kubeletConf, restarts: [kubelet] },
  { role: 'node', from: 'pki/kubelets/<host>/kubelet-server.crt', to: HOST_PATHS.kubeletServingCert, restarts: [kubelet] },
  { role: 'node', from: 'pki/kubelets/<host>/kubelet-server.key', to: HOST_PATHS.kubeletServingKey, restarts: [kubelet] },
  { role: 'node', from: 'kubeconfigs/kube-proxy.conf', to: HOST_PATHS.kubeProxyKubeconfig, restarts: [kubeProxy] },
];

/** Certificates are public (0644); keys, sa.pub and kubeconfigs (which embed keys) are 0600, as kubeadm writes them. */
export const pkiMode = (from: string): number => (from.endsWith('.crt') ? 0o644 : 0o600);

export const placementsFor = (host: Host): Omit<PkiPlacement, 'role'>[] =>
  PKI_PLACEMENTS.filter((p) => host.roles.includes(p.role)).map((p) => ({ ...p, from: p.from.replace('<host>', host.name) }));
