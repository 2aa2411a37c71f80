// Where things live on a host: kubeadm's layout, so operators and kubeadm-era tooling find them.
export const BIN_DIR = '/usr/local/bin';
export const UNIT_DIR = '/etc/systemd/system';
export const K8S_DIR = '/etc/kubernetes';
export const PKI_DIR = `${K8S_DIR}/pki`;
export const ETCD_PKI_DIR = `${PKI_DIR}/etcd`;
/** Written by the services themselves, not uploaded: reset removes them (etcd's data is kept aside unless purged). */
export const KUBELET_DIR = '/var/lib/kubelet';
export const ETCD_DATA_DIR = '/var/lib/etcd';

export const HOST_PATHS = {
  etcdConfig: '/etc/etcd/etcd.conf.yml',
  /** The member's data: what `etcd restore` replaces (the old one is kept beside it). */
  adminConf: `${K8S_DIR}/admin.conf`,
  controllerManagerConf: `${K8S_DIR}/controller-manager.conf`,
  schedulerConf: `${K8S_DIR}/scheduler.conf`,
  schedulerConfig: `${K8S_DIR}/kube-scheduler-config.yaml`,
  auditPolicy: `${K8S_DIR}/audit-policy.yaml`,
  auditLog: '/var/log/kubernetes/audit/audit.log',
  encryptionConfig: `${K8S_DIR}/encryption-config.yaml`,
  /** The Kubernetes CA's certificate alone, for the controller-manager's signer (it refuses a file of more than one):
   * `pki/ca.crt` is the trust bundle, two CAs during a rotation. */
  clusterSigningCert: `${PKI_DIR}/ca-signing.crt`,
  kubeletConf: `${K8S_DIR}/kubelet.conf`,
  kubeletConfig: `${KUBELET_DIR}/config.yaml`,
  kubeletServingCert: `${KUBELET_DIR}/pki/kubelet.crt`,
  kubeletServingKey: `${KUBELET_DIR}/pki/kubelet.key`,
  kubeProxyKubeconfig: '/var/lib/kube-proxy/kubeconfig',
  kubeProxyConfig: '/var/lib/kube-proxy/config.yaml',
  containerdConfig: '/etc/containerd/config.toml',
  /** containerd's registry host folders (config_path): `<dir>/<registry host>/hosts.toml`; ctr's --hosts-dir. */
  containerdCertsDir: '/etc/containerd/certs.d',
  /** containerd's default socket, which ctr talks to. */
  containerdSocket: '/run/containerd/containerd.sock',
  /** The image archives uploaded from `<binariesDir>/images/`, kept so a re-run's upload compares instead of sending. */
  imagesDir: '/var/lib/kubeinstall/images',
  modulesLoad: '/etc/modules-load.d/kubernetes.conf',
  sysctl: '/etc/sysctl.d/90-kubernetes.conf',
  keepalivedConf: '/etc/keepalived/keepalived.conf',
  keepalivedCheck: '/etc/keepalived/kubeinstall-check-apiserver',
  keepalivedInterfaceScript: '/etc/keepalived/kubeinstall-interface',
  /** Written on the host by keepalivedInterfaceScript, never planned: its content is the host's interface name. */
  keepalivedInterfaceConf: '/run/kubeinstall/keepalived-interface.conf',
  kubeLbConfig: `${K8S_DIR}/kube-lb/haproxy.cfg`,
  /** kube-lb's runtime API (RuntimeDirectory=kube-lb in its unit). */
  kubeLbSocket: '/run/kube-lb/admin.sock',
} as const;

/** The resolv.conf the kubelet gives pods with dnsPolicy Default (CoreDNS among them, which forwards there). Where
 * systemd-resolved runs, /etc/resolv.conf names only its stub 127.0.0.53, which inside a pod is the pod itself:
 * CoreDNS would forward to itself, and its loop plugin stops it (a crash loop). resolved's own file lists the real servers. */
export const RESOLV_CONF = { plain: '/etc/resolv.conf', systemdResolved: '/run/systemd/resolve/resolv.conf' } as const;

export const pki = (name: string): string => `${PKI_DIR}/${name}`;
export const etcdPki = (name: string): string => `${ETCD_PKI_DIR}/${name}`;
export const unitPath = (unit: string): string => `${UNIT_DIR}/${unit}`;
/** A drop-in that changes a unit the distribution ships, leaving its file alone. */
export const dropInPath = (unit: string): string => `${UNIT_DIR}/${unit}.d/kubeinstall.conf`;
export const binPath = (binary: string): string => `${BIN_DIR}/${binary}`;
