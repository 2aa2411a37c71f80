// etcdctl on a member, with the healthcheck client certificate the plan installs (kubeadm's paths).
import { etcdClientUrl } from '../render/etcd.js';
import { binPath, etcdPki } from '../render/paths.js';
import type { HostPlan } from '../render/types.js';
import { KubeinstallError } from '../util/errors.js';
import { quoteAll } from '../util/shell.js';

const ETCDCTL_FILES = {
  etcdctl: binPath('etcdctl'),
  cacert: etcdPki('ca.crt'),
  cert: etcdPki('healthcheck-client.crt'),
  key: etcdPki('healthcheck-client.key'),
} as const;

/** The path, after making sure the plan installs it on this member. */
const planned = (hp: HostPlan, path: string): string => {
  if (!hp.files.some((f) => f.path === path)) throw new KubeinstallError(`the plan for ${hp.host.name} has no ${path}, which the etcd health check needs`);
  return path;
};

export const etcdEndpoint = (hp: HostPlan): string => etcdClientUrl(hp.host);

/** An etcdctl command line against the given endpoints, authenticated with the healthcheck client cert;
 * `timeout` bounds each request (a snapshot of a large keyspace needs more than a health check). */
export const etcdctl = (hp: HostPlan, endpoints: readonly string[], args: readonly string[], timeout = '3s'): string =>
  'ETCDCTL_API=3 ' +
  quoteAll([
    planned(hp, ETCDCTL_FILES.etcdctl),
    `--endpoints=${endpoints.join(',')}`,
    `--cacert=${planned(hp, ETCDCTL_FILES.cacert)}`,
    `--cert=${planned(hp, ETCDCTL_FILES.cert)}`,
    `--key=${planned(hp, ETCDCTL_FILES.key)}`,
    `--command-timeout=${timeout}`,
    ...args,
  ]);
