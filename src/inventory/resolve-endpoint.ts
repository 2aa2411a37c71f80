// The API endpoint: declared (a master's address, a VIP or a load balancer, each checked for what it
// claims to be) or, by default, node-local for several masters (a load balancer on every node) and the
// first master's internal address for one.
import type { ClusterInput, Report } from './input.js';
import { hostsWithRole, isEtcdOnly, type ApiEndpoint, type ApiEndpointKind, type Host } from './model.js';
import { parseEndpoint } from './endpoint.js';
import type { Networks } from './resolve-networks.js';
import { cidrContains, hostPort, ipFamily, isIpAddress } from '../util/ip.js';

const at = (host: string, port: number, kind: ApiEndpoint['kind']): ApiEndpoint => ({ host, port, kind, url: `https://${hostPort(host, port)}` });

/** Unset, the kind follows the masters: one is the endpoint itself, several are balanced on every node. */
const kindOf = (cluster: ClusterInput, masters: readonly Host[]): ApiEndpointKind =>
  cluster.apiEndpointKind ?? (cluster.apiEndpoint === undefined && masters.length > 1 ? 'node-local' : 'master');

export const resolveEndpoint = (cluster: ClusterInput, hosts: readonly Host[], { serviceCidr, podCidr }: Networks, report: Report): ApiEndpoint | undefined => {
  const masters = hostsWithRole({ hosts }, 'master');
  const kind = kindOf(cluster, masters);
  if (kind === 'node-local') return nodeLocal(cluster, masters, report);
  if (kind === 'master' && masters.length > 1) {
    report.warn(
      cluster.apiEndpoint === undefined ? ['cluster', 'apiEndpointKind'] : ['cluster', 'apiEndpoint'],
      `apiEndpointKind master with ${masters.length} masters: every kubelet, kube-proxy and admin.conf reaches the API through one master ` +
        `(${cluster.apiEndpoint ?? masters[0]!.name}), so the whole cluster depends on it; ` +
        'leave apiEndpoint and apiEndpointKind unset (node-local), or use a vip or loadbalancer',
    );
  }
  if (cluster.apiEndpoint === undefined) {
    if (kind !== 'master') return void report.error(['cluster', 'apiEndpoint'], `apiEndpointKind is ${kind}, so apiEndpoint (the ${kind} address) is required`);
    // An etcd-only inventory has no master: its first host stands in.
    const first = masters[0] ?? (isEtcdOnly({ hosts }) ? hosts[0] : undefined);
    return first && at(first.internalAddress, cluster.apiServerPort, 'master');
  }
  const parsed = parseEndpoint(cluster.apiEndpoint) as { host: string; port?: number }; // checked by the schema's `endpoint` format
  const isMasterAddress = masters.some((m) => [m.name, m.address, m.internalAddress].includes(parsed.host));
  if (kind === 'master' && !isMasterAddress && masters.length > 0) {
    report.error(
      ['cluster', 'apiEndpoint'],
      `"${parsed.host}" is neither a master's name or address nor declared as a VIP or load balancer (set apiEndpointKind: vip or loadbalancer)`,
    );
  }
  // Kubelets and kube-proxy use the endpoint: the network the components bind to and advertise on, not the one SSH comes in by.
  const sshOnly = masters.find((m) => m.address === parsed.host && m.internalAddress !== parsed.host);
  if (kind === 'master' && sshOnly) {
    report.error(
      ['cluster', 'apiEndpoint'],
      `"${parsed.host}" is the SSH address of master ${sshOnly.name}, not its internalAddress ${sshOnly.internalAddress}: kubelets and kube-proxy ` +
        `would reach the API outside the network the masters advertise on; write ${sshOnly.internalAddress}, or leave apiEndpoint unset`,
    );
  }
  if (kind !== 'master' && isMasterAddress) {
    report.error(['cluster', 'apiEndpointKind'], `apiEndpoint "${parsed.host}" is a master's own address, not a ${kind}; set apiEndpointKind: master`);
  }
  if (
    kind === 'vip' &&
    isIpAddress(parsed.host) &&
    ipFamily(parsed.host) === serviceCidr.family &&
    (cidrContains(serviceCidr, parsed.host) || cidrContains(podCidr, parsed.host))
  ) {
    report.error(['cluster', 'apiEndpoint'], `VIP ${parsed.host} lies inside the service or pod CIDR`);
  }
  return at(parsed.host, parsed.port ?? cluster.apiServerPort, kind);
};

/** node-local: no shared address; the model's endpoint is the first master's SSH address, where admin.conf
 * points (the operator's machine reaches it there), while every kubelet host uses its own 127.0.0.1. */
const nodeLocal = (cluster: ClusterInput, masters: readonly Host[], report: Report): ApiEndpoint | undefined => {
  if (cluster.apiEndpoint !== undefined) {
    return void report.error(
      ['cluster', 'apiEndpoint'],
      'apiEndpointKind node-local takes no apiEndpoint: every node reaches the masters through its own load balancer on 127.0.0.1 and admin.conf ' +
        "points at the first master's address; remove apiEndpoint, or set apiEndpointKind: vip or loadbalancer for a shared address",
    );
  }
  const first = masters[0];
  if (!first) return void report.error(['cluster', 'apiEndpointKind'], 'apiEndpointKind node-local needs at least one host with the role master');
  return at(first.address, cluster.apiServerPort, 'node-local');
};
