// The service and pod ranges: one family, apart, and a service range kube-apiserver accepts.
import type { ClusterInput, Report } from './input.js';
import { cidrsOverlap, nthAddress, parseCidr, type ParsedCidr } from '../util/ip.js';

export interface Networks {
  readonly serviceCidr: ParsedCidr;
  readonly podCidr: ParsedCidr;
  /** The first service address (the `kubernetes` service); undefined when the range is too small. */
  readonly kubernetesServiceIp?: string;
  /** The tenth (the cluster DNS). */
  readonly clusterDnsIp?: string;
}

export const resolveNetworks = (cluster: ClusterInput, report: Report): Networks => {
  // The schema's `cidr` format has checked both.
  const serviceCidr = parseCidr(cluster.serviceCidr) as ParsedCidr;
  const podCidr = parseCidr(cluster.podCidr) as ParsedCidr;
  if (serviceCidr.family !== podCidr.family) {
    report.error(
      ['cluster', 'podCidr'],
      `pod CIDR ${cluster.podCidr} and service CIDR ${cluster.serviceCidr} are of different IP families (dual-stack is not supported)`,
    );
  } else if (cidrsOverlap(serviceCidr, podCidr)) {
    report.error(['cluster', 'podCidr'], `pod CIDR ${cluster.podCidr} overlaps service CIDR ${cluster.serviceCidr}`);
  }
  const kubernetesServiceIp = nthAddress(serviceCidr, 1);
  const clusterDnsIp = nthAddress(serviceCidr, 10);
  if (!clusterDnsIp) {
    report.error(['cluster', 'serviceCidr'], `service CIDR ${cluster.serviceCidr} is too small: it needs at least 11 addresses`);
  } else if (serviceCidr.family === 6 ? serviceCidr.prefix < 108 : serviceCidr.prefix < 12) {
    // kube-apiserver refuses service ranges with more than 2^20 addresses (IPv4 /12; IPv6 /108).
    report.error(['cluster', 'serviceCidr'], `service CIDR ${cluster.serviceCidr} is too large: kube-apiserver allows at most /12 (IPv4) or /108 (IPv6)`);
  }
  return { serviceCidr, podCidr, kubernetesServiceIp, clusterDnsIp };
};
