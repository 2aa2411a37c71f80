// The systemd units kubeinstall runs, by name, so tables and renderers agree on one spelling.
export const UNITS = {
  etcd: 'etcd.service',
  apiserver: 'kube-apiserver.service',
  controllerManager: 'kube-controller-manager.service',
  scheduler: 'kube-scheduler.service',
  containerd: 'containerd.service',
  kubelet: 'kubelet.service',
  kubeProxy: 'kube-proxy.service',
  /** The distribution's unit (Debian's and RHEL's read /etc/keepalived/keepalived.conf), with a drop-in of ours. */
  keepalived: 'keepalived.service',
  /** node-local: HAProxy on 127.0.0.1 in front of every master, our own unit beside any haproxy.service. */
  kubeLb: 'kube-lb.service',
  /** cluster.network.plugin bridge: the routes to the other kubelet hosts' pod subnets (a oneshot). */
  podRoutes: 'kubeinstall-pod-routes.service',
} as const;
