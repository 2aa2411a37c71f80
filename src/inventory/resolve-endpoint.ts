// The API endpoint: declared (a master's address, a VIP or a load balancer, each checked for what it
// claims to be) or, by default, the first master's internal address.
import type { ClusterInput, Report } from './input.js';
import { hostsWithRole, isEtcdOnly, type ApiEndpoint, type Host } from './model.js';
import { parseEndpoint } from './endpoint.js';
import type { Networks } from './resolve-networks.js';
import { cidrContains, hostPort, ipFamily, isIpAddress } from '../util/ip.js';

const at = (host: string, port: number, kind: ApiEndpoint['kind']): ApiEndpoint => ({ host, port, kind, url: `https://${hostPort(host, port)}` });

export const resolveEndpoint = (cluster: ClusterInput, hosts: readonly Host[], { serviceCidr, podCidr }: Networks, report: Report): ApiEndpoint | undefined => {
  const kind = cluster.apiEndpointKind;
  const masters = hostsWithRole({ hosts }, 'master');
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
