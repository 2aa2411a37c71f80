// etcdctl on a member, with the healthcheck client certificate the plan installs (kubeadm's paths).
import type { HostPlan } from '../render/types.js';
import { KubeinstallError } from '../util/errors.js';
import { hostPort } from '../util/ip.js';
import { quoteAll } from '../util/shell.js';

export const ETCD_CLIENT_PORT = 2379;

const ETCDCTL_FILES = {
  etcdctl: '/etcdctl',
  cacert: '/etc/kubernetes/pki/etcd/ca.crt',
  cert: '/etc/kubernetes/pki/etcd/healthcheck-client.crt',
  key: '/etc/kubernetes/pki/etcd/healthcheck-client.key',
} as const;

const planned = (hp: HostPlan, suffix: string): string => {
  const file = hp.files.find((f) => f.path.endsWith(suffix));
  if (!file) throw new KubeinstallError(`the plan for ${hp.host.name} has no ${suffix.replace(/^\//, '')}, which the etcd health check needs`);
  return file.path;
};

export const etcdEndpoint = (hp: HostPlan): string => `https://${hostPort(hp.host.internalAddress, ETCD_CLIENT_PORT)}`;

/** An etcdctl command line against the given endpoints, authenticated with the healthcheck client cert. */
export const etcdctl = (hp: HostPlan, endpoints: readonly string[], args: readonly string[]): string =>
  'ETCDCTL_API=3 ' +
  quoteAll([
    planned(hp, ETCDCTL_FILES.etcdctl),
    `--endpoints=${endpoints.join(',')}`,
    `--cacert=${planned(hp, ETCDCTL_FILES.cacert)}`,
    `--cert=${planned(hp, ETCDCTL_FILES.cert)}`,
    `--key=${planned(hp, ETCDCTL_FILES.key)}`,
    '--command-timeout=3s',
    ...args,
  ]);
