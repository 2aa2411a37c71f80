// The versions: a leading `v` dropped, and each minor one kubeinstall renders flags for.
import type { ClusterInput, Report } from './input.js';
import { SUPPORTED_ETCD_MINORS, SUPPORTED_KUBERNETES_MINORS, minorOf } from '../versions.js';

export interface Versions {
  readonly kubernetesVersion: string;
  readonly etcdVersion: string;
}

export const resolveVersions = (cluster: ClusterInput, report: Report): Versions => {
  const kubernetesVersion = cluster.kubernetesVersion.replace(/^v/, '');
  const etcdVersion = cluster.etcdVersion.replace(/^v/, '');
  if (!(SUPPORTED_KUBERNETES_MINORS as readonly string[]).includes(minorOf(kubernetesVersion))) {
    report.error(
      ['cluster', 'kubernetesVersion'],
      `Kubernetes ${kubernetesVersion} is not supported; supported minors: ${SUPPORTED_KUBERNETES_MINORS.join(', ')}`,
    );
  }
  if (!(SUPPORTED_ETCD_MINORS as readonly string[]).includes(minorOf(etcdVersion))) {
    report.error(['cluster', 'etcdVersion'], `etcd ${etcdVersion} is not supported; supported minors: ${SUPPORTED_ETCD_MINORS.join(', ')}`);
  }
  return { kubernetesVersion, etcdVersion };
};
