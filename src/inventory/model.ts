// The resolved cluster model: what every later stage (pki, render, ssh, deploy) reads.
// Everything here is validated and defaulted; no later stage re-reads the YAML.
import { createHash } from 'node:crypto';

export type Role = 'etcd' | 'master' | 'node';
export const ROLES: readonly Role[] = ['etcd', 'master', 'node'];

export type KeyAlgorithm = 'rsa-2048' | 'rsa-3072' | 'rsa-4096' | 'ecdsa-p256';
/**
 * cluster.apiServerShutdownDelaySeconds, kube-apiserver's `--shutdown-delay-duration`: on SIGTERM the API server fails
 * /readyz at once but keeps serving this long before it closes its listener, so whatever balances it has taken it out
 * by then and no new connection meets a closed port (the reset the renewal roll's probe once saw). The slowest to
 * notice is keepalived (vip): its check every 2 s, down after 2 misses, then VRRP's hand-over of about a second (the
 * VIP moved 3.5-4.4 s after an API server stopped: docs/render.md), so about 5 s, doubled for a loaded host. HAProxy's
 * checks (node-local, and what docs/operations.md asks of a load balancer: `inter 1s fall 2`) take 2 s. It also lets
 * kube-proxy drop the master from the `kubernetes` Service, whose endpoint the API server removes at SIGTERM. Each API
 * server restart (every master of a roll) takes this long more. A load balancer of the operator's with slower checks
 * needs more: at least its interval times its fall count.
 */
export const DEFAULT_API_SERVER_SHUTDOWN_DELAY_SECONDS = 10;

export const KEY_ALGORITHMS: readonly KeyAlgorithm[] = ['rsa-2048', 'rsa-3072', 'rsa-4096', 'ecdsa-p256'];

export type HostKeyPolicy = 'strict' | 'accept-new' | 'off';
export const HOST_KEY_POLICIES: readonly HostKeyPolicy[] = ['strict', 'accept-new', 'off'];

/** How the API endpoint is provided: a master's own address, a load balancer on every node in front of
 * all masters (node-local), a floating VIP held by one master, or an external load balancer. */
export type ApiEndpointKind = 'master' | 'node-local' | 'vip' | 'loadbalancer';
export const API_ENDPOINT_KINDS: readonly ApiEndpointKind[] = ['master', 'node-local', 'vip', 'loadbalancer'];

/** The pod network: the reference CNI plugins with a subnet per kubelet host and routes between hosts (`bridge`), nothing
 * (`none`: the user applies one; Nodes stay NotReady until then), or a user's manifest applied after the control plane. */
export type NetworkPlugin = 'bridge' | 'none' | 'manifest';
export const NETWORK_PLUGINS: readonly NetworkPlugin[] = ['bridge', 'none', 'manifest'];

export interface PodNetwork {
  readonly plugin: NetworkPlugin;
  /** Prefix length of each kubelet host's pod subnet, carved from the pod CIDR. */
  readonly nodeSubnetSize: number;
  /** plugin `manifest`: the user's manifest, read and parsed when the inventory is loaded. */
  readonly manifest?: { readonly path: string; readonly yaml: string };
}

/** cluster.dns: what answers on the cluster DNS IP (`none`: the user installs a DNS of their own). */
export type ClusterDns = 'coredns' | 'none';
export const CLUSTER_DNS_KINDS: readonly ClusterDns[] = ['coredns', 'none'];

export interface Cidr {
  readonly text: string; // normalised "a.b.c.d/n"
  readonly family: 4 | 6;
  readonly prefix: number;
}

export interface SshTarget {
  readonly user: string;
  readonly port: number;
  /** Absolute path, `~` expanded. */
  readonly identityFile?: string;
  /** Environment variable holding the identity file's passphrase. */
  readonly passphraseEnv?: string;
  readonly useAgent: boolean;
  /** Environment variable holding the login password. */
  readonly passwordEnv?: string;
  /** A literal password from the inventory (discouraged; a warning is printed). */
  readonly password?: string;
  readonly hostKeyPolicy: HostKeyPolicy;
  readonly connectTimeoutSeconds: number;
}

export interface SshSettings extends SshTarget {
  readonly sudo: boolean;
  /** Environment variable holding the sudo password; absent means passwordless sudo. */
  readonly sudoPasswordEnv?: string;
  readonly bastion?: Bastion;
}

export interface Bastion extends SshTarget {
  readonly address: string;
}

/** What a taint does to pods that do not tolerate it. */
export type TaintEffect = 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
export const TAINT_EFFECTS: readonly TaintEffect[] = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];

export interface Taint {
  readonly key: string;
  readonly value?: string;
  readonly effect: TaintEffect;
}

export interface Host {
  readonly name: string;
  /** Where kubeinstall connects over SSH (IP or DNS name). */
  readonly address: string;
  /** The IP components bind to and advertise (defaults to `address` when that is an IP). */
  readonly internalAddress: string;
  readonly roles: readonly Role[];
  /** Labels and taints of its Node (from the inventory), applied through the API and kept in step on re-runs. */
  readonly labels: Readonly<Record<string, string>>;
  readonly taints: readonly Taint[];
  readonly ssh: SshSettings;
}

export interface ApiEndpoint {
  readonly host: string;
  readonly port: number;
  readonly kind: ApiEndpointKind;
  /** `https://host:port`, IPv6 bracketed. */
  readonly url: string;
}

/** A registry and its mirrors (cluster.registries); credentials are named, never held (read from the environment at deploy). */
export interface Registry {
  readonly host: string;
  readonly mirrors: readonly string[];
  /** Absolute path on this machine. */
  readonly caFile?: string;
  readonly credentials?: { readonly usernameEnv: string; readonly passwordEnv: string };
}

export interface ClusterModel {
  /** Absolute path of the inventory file this model came from. */
  readonly inventoryPath: string;
  readonly name: string;
  readonly kubernetesVersion: string; // "1.34.2", no "v"
  readonly kubernetesMinor: string; // "1.34"
  readonly etcdVersion: string; // "3.5.21"
  readonly apiEndpoint: ApiEndpoint;
  /** The port kube-apiserver listens on, on each master. */
  readonly apiServerPort: number;
  /** The VRRP group of the masters' keepalived (apiEndpointKind vip): cluster.vrrpRouterId, else derived from the name. */
  readonly vrrpRouterId: number;
  readonly serviceCidr: Cidr;
  /** First address of the service CIDR: the `kubernetes` service. */
  readonly kubernetesServiceIp: string;
  /** Tenth address of the service CIDR: cluster DNS. */
  readonly clusterDnsIp: string;
  readonly podCidr: Cidr;
  readonly network: PodNetwork;
  readonly clusterDomain: string;
  /** cluster.dns: CoreDNS applied by deploy, or none. */
  readonly dns: ClusterDns;
  /** cluster.imageRepository: the registry (and path) the pause and CoreDNS images are named from. */
  readonly imageRepository: string;
  /** cluster.registries: the mirrors containerd pulls through, per registry host. */
  readonly registries: readonly Registry[];
  readonly apiServerExtraSans: readonly string[];
  readonly keyAlgorithm: KeyAlgorithm;
  readonly caValidityDays: number;
  readonly certValidityDays: number;
  /** kube-apiserver's --shutdown-delay-duration, in seconds. */
  readonly apiServerShutdownDelaySeconds: number;
  /** Absolute path of the folder holding the offline binaries. */
  readonly binariesDir: string;
  /** Absolute path of the cluster folder (PKI, kubeconfigs, logs): next to the inventory by default. */
  readonly clusterDir: string;
  /** Whether deploy installs the OS packages a host lacks (src/deploy/packages.ts). */
  readonly installPackages: boolean;
  readonly hosts: readonly Host[];
}

/** Generic over the host type so that partial hosts (the PKI's view, verify-certs' folder-derived hosts) share the rule. */
/** Per host list and role: renderers ask for the masters once per host, which over thousands of hosts was quadratic. */
const byRole = new WeakMap<readonly Pick<Host, 'roles'>[], Map<Role, readonly Pick<Host, 'roles'>[]>>();

export const hostsWithRole = <H extends Pick<Host, 'roles'>>(model: { readonly hosts: readonly H[] }, role: Role): readonly H[] => {
  let roles = byRole.get(model.hosts);
  if (!roles) byRole.set(model.hosts, (roles = new Map()));
  let hosts = roles.get(role);
  if (!hosts) roles.set(role, (hosts = Object.freeze(model.hosts.filter((h) => h.roles.includes(role)))));
  return hosts as readonly H[];
};

/** An inventory with etcd members and no master deploys an external etcd cluster only. */
export const isEtcdOnly = (model: { readonly hosts: readonly Pick<Host, 'roles'>[] }): boolean =>
  model.hosts.length > 0 && model.hosts.every((h) => h.roles.length === 1 && h.roles[0] === 'etcd');

export const hasRole = (host: Pick<Host, 'roles'>, role: Role): boolean => host.roles.includes(role);

/** The roles whose components a host runs: a master also runs the node's (containerd, kubelet,
 * kube-proxy) as a tainted node. The one rule for who runs a kubelet, read by pki, render and deploy. */
export const runsRole = (host: Pick<Host, 'roles'>, role: Role): boolean => hasRole(host, role) || (role === 'node' && hasRole(host, 'master'));

export const runsKubelet = (host: Pick<Host, 'roles'>): boolean => runsRole(host, 'node');

/** The roles whose files and services a host gets, in ROLES order. */
export const componentRoles = (host: Pick<Host, 'roles'>): Role[] => ROLES.filter((r) => runsRole(host, r));

/** node-local: a kubelet host that is not a master reaches the API through its own load balancer on
 * 127.0.0.1 (a master reaches its own API server there). */
export const runsLocalLoadBalancer = (model: Pick<ClusterModel, 'apiEndpoint'>, host: Pick<Host, 'roles'>): boolean =>
  model.apiEndpoint.kind === 'node-local' && runsKubelet(host) && !hasRole(host, 'master');

/** Where a kubelet host reaches the API with node-local: its load balancer on a node, its own API server
 * (which binds every address) on a master. */
export const NODE_LOCAL_API_HOST = '127.0.0.1';

/** vip: every master runs keepalived, and one of them holds the VIP. */
export const holdsVip = (model: Pick<ClusterModel, 'apiEndpoint'>, host: Pick<Host, 'roles'>): boolean =>
  model.apiEndpoint.kind === 'vip' && hasRole(host, 'master');

/** A VRRP group id (1-255) from the cluster name: stable across runs, and two clusters on one segment
 * rarely collide (cluster.vrrpRouterId settles a collision). */
export const vrrpRouterIdOf = (clusterName: string): number => (createHash('sha256').update(clusterName).digest().readUInt32BE(0) % 255) + 1;
