// Cross-field checks and the resolved model. Input: schema-valid data with defaults applied.
import { homedir } from 'node:os';
import { dirname, isAbsolute, resolve as resolvePath } from 'node:path';
import type { PathSegment } from './parse.js';
import type { FieldProblem } from './validate.js';
import { hostsWithRole, isEtcdOnly } from './model.js';
import type {
  ApiEndpoint,
  ApiEndpointKind,
  Bastion,
  Cidr,
  ClusterModel,
  Host,
  HostKeyPolicy,
  KeyAlgorithm,
  Role,
  Taint,
  SshSettings,
  SshTarget,
} from './model.js';
import { parseEndpoint } from './endpoint.js';
import { cidrContains, cidrText, cidrsOverlap, hostPort, ipFamily, isIpAddress, nthAddress, parseCidr, type ParsedCidr } from '../util/ip.js';
import { SUPPORTED_ETCD_MINORS, SUPPORTED_KUBERNETES_MINORS, minorOf } from '../versions.js';

type Raw = Record<string, unknown>;

export interface ResolveOptions {
  /** `deploy` needs the binaries folder; `certs` and `check` do not. */
  readonly requireBinaries?: boolean;
  readonly pathExists?: (path: string) => boolean;
}

const expandPath = (p: string, baseDir: string): string =>
  p === '~' ? homedir() : p.startsWith('~/') ? resolvePath(homedir(), p.slice(2)) : isAbsolute(p) ? p : resolvePath(baseDir, p);

const toCidr = (p: ParsedCidr): Cidr => ({ text: cidrText(p), family: p.family, prefix: p.prefix });

export const resolveInventory = (
  raw: Raw,
  inventoryPath: string,
  opts: ResolveOptions = {},
): { model?: ClusterModel; problems: FieldProblem[] } => {
  const problems: FieldProblem[] = [];
  const error = (path: PathSegment[], message: string): void => void problems.push({ severity: 'error', path, message });
  const warn = (path: PathSegment[], message: string): void => void problems.push({ severity: 'warning', path, message });
  const baseDir = dirname(inventoryPath);
  const cluster = raw.cluster as Raw;
  const sshDefaults = (raw.ssh ?? {}) as Raw;
  const rawHosts = (raw.hosts ?? []) as (Raw | undefined)[];

  // Versions
  const kubernetesVersion = String(cluster.kubernetesVersion).replace(/^v/, '');
  const etcdVersion = String(cluster.etcdVersion).replace(/^v/, '');
  if (!(SUPPORTED_KUBERNETES_MINORS as readonly string[]).includes(minorOf(kubernetesVersion))) {
    error(['cluster', 'kubernetesVersion'], `Kubernetes ${kubernetesVersion} is not supported; supported minors: ${SUPPORTED_KUBERNETES_MINORS.join(', ')}`);
  }
  if (!(SUPPORTED_ETCD_MINORS as readonly string[]).includes(minorOf(etcdVersion))) {
    error(['cluster', 'etcdVersion'], `etcd ${etcdVersion} is not supported; supported minors: ${SUPPORTED_ETCD_MINORS.join(', ')}`);
  }

  // Networks
  const serviceCidr = parseCidr(String(cluster.serviceCidr)) as ParsedCidr;
  const podCidr = parseCidr(String(cluster.podCidr)) as ParsedCidr;
  if (serviceCidr.family !== podCidr.family) {
    error(['cluster', 'podCidr'], `pod CIDR ${cluster.podCidr} and service CIDR ${cluster.serviceCidr} are of different IP families (dual-stack is not supported)`);
  } else if (cidrsOverlap(serviceCidr, podCidr)) {
    error(['cluster', 'podCidr'], `pod CIDR ${cluster.podCidr} overlaps service CIDR ${cluster.serviceCidr}`);
  }
  const kubernetesServiceIp = nthAddress(serviceCidr, 1);
  const clusterDnsIp = nthAddress(serviceCidr, 10);
  if (!clusterDnsIp || (serviceCidr.family === 6 ? serviceCidr.prefix < 108 : serviceCidr.prefix < 12)) {
    // kube-apiserver refuses service ranges with more than 2^20 addresses (IPv4 /12; IPv6 /108).
    if (!clusterDnsIp) error(['cluster', 'serviceCidr'], `service CIDR ${cluster.serviceCidr} is too small: it needs at least 11 addresses`);
    else error(['cluster', 'serviceCidr'], `service CIDR ${cluster.serviceCidr} is too large: kube-apiserver allows at most /12 (IPv4) or /108 (IPv6)`);
  }

  // Hosts
  const mergeSsh = (over: Raw): Raw => ({ ...sshDefaults, ...over });
  const toTarget = (s: Raw): SshTarget => ({
    user: String(s.user ?? 'root'),
    port: Number(s.port ?? 22),
    identityFile: s.identityFile ? expandPath(String(s.identityFile), baseDir) : undefined,
    passphraseEnv: s.passphraseEnv as string | undefined,
    useAgent: s.useAgent !== false,
    passwordEnv: s.passwordEnv as string | undefined,
    password: s.password as string | undefined,
    hostKeyPolicy: (s.hostKeyPolicy ?? 'strict') as HostKeyPolicy,
    connectTimeoutSeconds: Number(s.connectTimeoutSeconds ?? 10),
  });
  const toSsh = (s: Raw): SshSettings => {
    const target = toTarget(s);
    const bastionRaw = s.bastion as Raw | undefined;
    const bastion: Bastion | undefined = bastionRaw ? { ...toTarget(bastionRaw), address: String(bastionRaw.address) } : undefined;
    return {
      ...target,
      sudo: typeof s.sudo === 'boolean' ? s.sudo : target.user !== 'root',
      sudoPasswordEnv: s.sudoPasswordEnv as string | undefined,
      bastion,
    };
  };
  if (typeof sshDefaults.password === 'string') warn(['ssh', 'password'], 'a literal password is stored in the inventory; prefer passwordEnv');
  if (sshDefaults.hostKeyPolicy === 'off') warn(['ssh', 'hostKeyPolicy'], 'host keys will not be checked: anyone on the path can impersonate your hosts');

  const hosts: Host[] = [];
  const seenName = new Map<string, number>();
  const seenAddress = new Map<string, number>();
  const seenInternal = new Map<string, number>();
  rawHosts.forEach((h, i) => {
    if (!h || typeof h.name !== 'string' || typeof h.address !== 'string' || !Array.isArray(h.roles)) return; // already reported
    const at = (field: string): PathSegment[] => ['hosts', i, field];
    const hostSsh = (h.ssh ?? {}) as Raw;
    if (typeof hostSsh.password === 'string') warn(['hosts', i, 'ssh', 'password'], 'a literal password is stored in the inventory; prefer passwordEnv');
    if (hostSsh.hostKeyPolicy === 'off') warn(['hosts', i, 'ssh', 'hostKeyPolicy'], 'host keys will not be checked for this host');
    const internalAddress = (h.internalAddress as string | undefined) ?? (isIpAddress(h.address) ? h.address : undefined);
    if (!internalAddress) error(at('internalAddress'), `address "${h.address}" is a host name, so internalAddress (the IP components bind to) is required`);
    const dup = (map: Map<string, number>, key: string, field: string, what: string): void => {
      const first = map.get(key);
      if (first !== undefined) error(at(field), `${what} "${key}" is also used by hosts[${first}]`);
      else map.set(key, i);
    };
    const addressClashes = seenAddress.has(h.address);
    dup(seenName, h.name, 'name', 'host name');
    dup(seenAddress, h.address, 'address', 'address');
    if (internalAddress) {
      const first = seenInternal.get(internalAddress);
      if (first === undefined) seenInternal.set(internalAddress, i);
      else if (h.internalAddress || !addressClashes) {
        error(at(h.internalAddress ? 'internalAddress' : 'address'), `internal address "${internalAddress}" is also used by hosts[${first}]`);
      }
    }
    if (internalAddress) {
      for (const [label, c] of [['service', serviceCidr], ['pod', podCidr]] as const) {
        if (cidrContains(c, internalAddress)) {
          error(at(h.internalAddress ? 'internalAddress' : 'address'), `${internalAddress} lies inside the ${label} CIDR ${cidrText(c)}`);
        }
      }
    }
    hosts.push({
      name: h.name,
      address: h.address,
      internalAddress: internalAddress ?? h.address,
      roles: h.roles as Role[],
      labels: (h.labels ?? {}) as Record<string, string>,
      taints: (h.taints ?? []) as Taint[],
      ssh: toSsh(mergeSsh(hostSsh)),
    });
  });

  const etcdMembers = hostsWithRole({ hosts }, 'etcd');
  const masters = hostsWithRole({ hosts }, 'master');
  const etcdOnly = isEtcdOnly({ hosts });
  if (hosts.length === rawHosts.length && hosts.length > 0) {
    if (etcdMembers.length === 0) error(['hosts'], 'no host has the role "etcd": the cluster needs at least one etcd member');
    if (masters.length === 0 && !etcdOnly) {
      error(['hosts'], 'no host has the role "master" (only an inventory whose hosts are all etcd-only may have none: it deploys an external etcd cluster)');
    }
    if (etcdMembers.length > 0 && etcdMembers.length % 2 === 0) {
      warn(['hosts'], `${etcdMembers.length} etcd members: an even count tolerates no more failures than ${etcdMembers.length - 1}; use an odd number`);
    }
  }

  // API endpoint
  const kind = cluster.apiEndpointKind as ApiEndpointKind;
  const apiServerPort = Number(cluster.apiServerPort);
  let apiEndpoint: ApiEndpoint | undefined;
  if (typeof cluster.apiEndpoint === 'string') {
    const parsed = parseEndpoint(cluster.apiEndpoint) as { host: string; port?: number };
    const isMasterAddress = masters.some((m) => [m.name, m.address, m.internalAddress].includes(parsed.host));
    if (kind === 'master' && !isMasterAddress && masters.length > 0) {
      error(['cluster', 'apiEndpoint'], `"${parsed.host}" is neither a master's name or address nor declared as a VIP or load balancer (set apiEndpointKind: vip or loadbalancer)`);
    }
    if (kind !== 'master' && isMasterAddress) {
      error(['cluster', 'apiEndpointKind'], `apiEndpoint "${parsed.host}" is a master's own address, not a ${kind}; set apiEndpointKind: master`);
    }
    if (kind === 'vip' && isIpAddress(parsed.host) && ipFamily(parsed.host) === serviceCidr.family && (cidrContains(serviceCidr, parsed.host) || cidrContains(podCidr, parsed.host))) {
      error(['cluster', 'apiEndpoint'], `VIP ${parsed.host} lies inside the service or pod CIDR`);
    }
    apiEndpoint = { host: parsed.host, port: parsed.port ?? apiServerPort, kind, url: '' };
  } else if (kind !== 'master') {
    error(['cluster', 'apiEndpoint'], `apiEndpointKind is ${kind}, so apiEndpoint (the ${kind} address) is required`);
  } else if (masters[0]) {
    apiEndpoint = { host: masters[0].internalAddress, port: apiServerPort, kind: 'master', url: '' };
  } else if (etcdOnly && hosts[0]) {
    apiEndpoint = { host: hosts[0].internalAddress, port: apiServerPort, kind: 'master', url: '' };
  }

  const binariesDir = expandPath(String(cluster.binariesDir), baseDir);
  if (opts.requireBinaries && !(opts.pathExists?.(binariesDir) ?? false)) {
    error(['cluster', 'binariesDir'], `binaries folder ${binariesDir} does not exist`);
  }

  if (problems.some((p) => p.severity === 'error') || !apiEndpoint || !kubernetesServiceIp || !clusterDnsIp) {
    return { problems };
  }
  const name = String(cluster.name);
  return {
    problems,
    model: {
      inventoryPath,
      name,
      kubernetesVersion,
      kubernetesMinor: minorOf(kubernetesVersion),
      etcdVersion,
      apiEndpoint: { ...apiEndpoint, url: `https://${hostPort(apiEndpoint.host, apiEndpoint.port)}` },
      apiServerPort,
      serviceCidr: toCidr(serviceCidr),
      kubernetesServiceIp,
      clusterDnsIp,
      podCidr: toCidr(podCidr),
      clusterDomain: String(cluster.clusterDomain),
      apiServerExtraSans: (cluster.apiServerExtraSans as string[] | undefined) ?? [],
      keyAlgorithm: cluster.keyAlgorithm as KeyAlgorithm,
      caValidityDays: Number(cluster.caValidityDays),
      certValidityDays: Number(cluster.certValidityDays),
      binariesDir,
      clusterDir: cluster.clusterDir ? expandPath(String(cluster.clusterDir), baseDir) : resolvePath(baseDir, name),
      hosts,
    },
  };
};
