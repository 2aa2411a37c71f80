// Where things live on a host: kubeadm's layout, so operators and kubeadm-era tooling find them.
export const BIN_DIR = '/usr/local/bin';
export const UNIT_DIR = '/etc/systemd/system';
export const K8S_DIR = '/etc/kubernetes';
export const PKI_DIR = `${K8S_DIR}/pki`;
export const ETCD_PKI_DIR = `${PKI_DIR}/etcd`;

export const HOST_PATHS = {
  etcdConfig: '/etc/etcd/etcd.conf.yml',
  adminConf: `${K8S_DIR}/admin.conf`,
  controllerManagerConf: `${K8S_DIR}/controller-manager.conf`,
  schedulerConf: `${K8S_DIR}/scheduler.conf`,
  schedulerConfig: `${K8S_DIR}/kube-scheduler-config.yaml`,
  auditPolicy: `${K8S_DIR}/audit-policy.yaml`,
  auditLog: '/var/log/kubernetes/audit/audit.log',
  encryptionConfig: `${K8S_DIR}/encryption-config.yaml`,
  kubeletConf: `${K8S_DIR}/kubelet.conf`,
  kubeletConfig: '/var/lib/kubelet/config.yaml',
  kubeletServingCert: '/var/lib/kubelet/pki/kubelet.crt',
  kubeletServingKey: '/var/lib/kubelet/pki/kubelet.key',
  kubeProxyKubeconfig: '/var/lib/kube-proxy/kubeconfig',
  kubeProxyConfig: '/var/lib/kube-proxy/config.yaml',
  containerdConfig: '/etc/containerd/config.toml',
  modulesLoad: '/etc/modules-load.d/kubernetes.conf',
  sysctl: '/etc/sysctl.d/90-kubernetes.conf',
  kubeLbConfig: `${K8S_DIR}/kube-lb/haproxy.cfg`,
  /** kube-lb's runtime API (RuntimeDirectory=kube-lb in its unit). */
  kubeLbSocket: '/run/kube-lb/admin.sock',
} as const;

export const pki = (name: string): string => `${PKI_DIR}/${name}`;
export const etcdPki = (name: string): string => `${ETCD_PKI_DIR}/${name}`;
export const unitPath = (unit: string): string => `${UNIT_DIR}/${unit}`;
export const binPath = (binary: string): string => `${BIN_DIR}/${binary}`;
