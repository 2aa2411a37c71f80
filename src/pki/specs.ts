// The whole cluster PKI as data, in the manner of kubeadm's certlist.go: one row per certificate kind,
// expanded per host where a kind is per host. `certs`, `verify-certs` and renewal all read this table.
import { hostsWithRole, isEtcdOnly, NODE_LOCAL_API_HOST, runsRole, type ClusterModel, type Host as InventoryHost, type Role } from '../inventory/model.js';
import { hostPort, isIpAddress } from '../util/ip.js';
import { canonicalIp, type ExtKeyUsage, type KeyUsage, type Subject } from './x509.js';

export type CaName = 'ca' | 'front-proxy-ca' | 'etcd-ca';

/** What the PKI reads of a host and of the cluster: `verify-certs` can fill this in from folder names alone. */
export type Host = Pick<InventoryHost, 'name' | 'address' | 'internalAddress' | 'roles'>;
export interface PkiModel
  extends Pick<
    ClusterModel,
    'name' | 'apiEndpoint' | 'apiServerPort' | 'kubernetesServiceIp' | 'clusterDomain' | 'apiServerExtraSans' | 'caValidityDays' | 'certValidityDays'
  > {
  readonly hosts: readonly Host[];
}

/** The cluster folder's per-host folders: `<dir>/<host name>/` holds that host's own files, and
 * `verify-certs` without an inventory reads the hosts and their roles back from the folder names. */
export const HOST_DIRS = {
  etcdMembers: { role: 'etcd', dir: 'pki/etcd/members' },
  masterKubeconfigs: { role: 'master', dir: 'kubeconfigs/masters' },
  kubelets: { role: 'node', dir: 'pki/kubelets' },
  nodeKubeconfigs: { role: 'node', dir: 'kubeconfigs/nodes' },
} as const satisfies Record<string, { readonly role: Role; readonly dir: string }>;

const inHostDir =
  (where: keyof typeof HOST_DIRS, file: string) =>
  (h: Host): string =>
    `${HOST_DIRS[where].dir}/${h.name}/${file}`;

/** Key usages by role of the certificate (kubeadm: NewSelfSignedCACert, NewSignedCert), for an RSA key. */
export type Profile = 'ca' | 'server' | 'client' | 'server-client';
export const PROFILES: Readonly<Record<Profile, { readonly keyUsage: readonly KeyUsage[]; readonly extKeyUsage: readonly ExtKeyUsage[] }>> = {
  ca: { keyUsage: ['digitalSignature', 'keyEncipherment', 'keyCertSign'], extKeyUsage: [] },
  server: { keyUsage: ['digitalSignature', 'keyEncipherment'], extKeyUsage: ['serverAuth'] },
  client: { keyUsage: ['digitalSignature', 'keyEncipherment'], extKeyUsage: ['clientAuth'] },
  'server-client': { keyUsage: ['digitalSignature', 'keyEncipherment'], extKeyUsage: ['serverAuth', 'clientAuth'] },
};

/** The key usages a certificate of this profile carries: keyEncipherment only with an RSA key (RFC 5480 3). */
export const keyUsagesOf = (profile: Profile, keyType: string | undefined): readonly KeyUsage[] =>
  keyType === 'rsa' ? PROFILES[profile].keyUsage : PROFILES[profile].keyUsage.filter((u) => u !== 'keyEncipherment');

export interface AltNames {
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
}

/** Which hosts a kind is issued for: once for the cluster, or once per host running a role's components
 * (`node`: every host running a kubelet, masters included). */
export type Scope = 'cluster' | Role;
type PerHost<T> = T | ((host: Host) => T);

export interface CertSpec {
  readonly name: string;
  readonly title: string;
  /** The CA that signs it; a CA signs itself. */
  readonly ca: CaName | 'self';
  readonly profile: Profile;
  readonly scope: Scope;
  /** Part of an etcd-only PKI as well (an external etcd cluster). */
  readonly etcd: boolean;
  readonly cn: PerHost<string>;
  readonly o?: readonly string[];
  readonly sans?: (model: PkiModel, host: Host | undefined) => readonly string[];
  /** Base path of `.crt`/`.key` under the cluster folder; absent: the cert lives only inside its kubeconfig. */
  readonly files?: PerHost<string>;
}

// SAN rules. Each returns names and addresses mixed; `altNames` sorts them into DNS and IP entries.
const hostNames = (h: Host): string[] => [h.name, h.address, h.internalAddress];
const apiServerSans = (m: PkiModel): string[] => [
  ...hostsWithRole(m, 'master').flatMap(hostNames),
  m.apiEndpoint.host,
  m.kubernetesServiceIp,
  'kubernetes',
  'kubernetes.default',
  'kubernetes.default.svc',
  `kubernetes.default.svc.${m.clusterDomain}`,
  'localhost',
  '127.0.0.1',
  ...m.apiServerExtraSans,
];
// 127.0.0.1 matters beyond local clients: etcd checks a peer's cert against the source address.
const etcdMemberSans = (_m: PkiModel, h: Host | undefined): string[] => [...hostNames(need(h)), 'localhost', '127.0.0.1', '::1'];
const kubeletServingSans = (_m: PkiModel, h: Host | undefined): string[] => hostNames(need(h));
const need = (h: Host | undefined): Host => {
  if (!h) throw new Error('a per-host SAN rule was applied to a cluster-wide certificate');
  return h;
};

/** Each etcd member's serving and peer certificates differ only in name and file (kubeadm's are alike too). */
const etcdMemberCert = (name: string, title: string, file: 'server' | 'peer'): CertSpec => ({
  name,
  title,
  ca: 'etcd-ca',
  profile: 'server-client',
  scope: 'etcd',
  etcd: true,
  cn: (h) => h.name,
  sans: etcdMemberSans,
  files: inHostDir('etcdMembers', file),
});

export const CERT_SPECS: readonly CertSpec[] = [
  { name: 'ca', title: 'Kubernetes CA', ca: 'self', profile: 'ca', scope: 'cluster', etcd: false, cn: 'kubernetes', files: 'pki/ca' },
  {
    name: 'front-proxy-ca',
    title: 'front-proxy CA',
    ca: 'self',
    profile: 'ca',
    scope: 'cluster',
    etcd: false,
    cn: 'front-proxy-ca',
    files: 'pki/front-proxy-ca',
  },
  { name: 'etcd-ca', title: 'etcd CA', ca: 'self', profile: 'ca', scope: 'cluster', etcd: true, cn: 'etcd-ca', files: 'pki/etcd/ca' },

  {
    name: 'apiserver',
    title: 'kube-apiserver serving',
    ca: 'ca',
    profile: 'server',
    scope: 'cluster',
    etcd: false,
    cn: 'kube-apiserver',
    sans: apiServerSans,
    files: 'pki/apiserver',
  },
  // No O: render binds this user to system:kubelet-api-admin (kubeadm PR #138957).
  {
    name: 'apiserver-kubelet-client',
    title: 'kube-apiserver to kubelet client',
    ca: 'ca',
    profile: 'client',
    scope: 'cluster',
    etcd: false,
    cn: 'kube-apiserver-kubelet-client',
    files: 'pki/apiserver-kubelet-client',
  },
  {
    name: 'front-proxy-client',
    title: 'front-proxy client',
    ca: 'front-proxy-ca',
    profile: 'client',
    scope: 'cluster',
    etcd: false,
    cn: 'front-proxy-client',
    files: 'pki/front-proxy-client',
  },
  {
    name: 'apiserver-etcd-client',
    title: 'kube-apiserver to etcd client',
    ca: 'etcd-ca',
    profile: 'client',
    scope: 'cluster',
    etcd: true,
    cn: 'kube-apiserver-etcd-client',
    files: 'pki/apiserver-etcd-client',
  },
  {
    name: 'etcd-healthcheck-client',
    title: 'etcd health-check client',
    ca: 'etcd-ca',
    profile: 'client',
    scope: 'cluster',
    etcd: true,
    cn: 'kube-etcd-healthcheck-client',
    files: 'pki/etcd/healthcheck-client',
  },

  etcdMemberCert('etcd-server', 'etcd member serving', 'server'),
  etcdMemberCert('etcd-peer', 'etcd member peer', 'peer'),

  {
    name: 'kubelet-client',
    title: 'kubelet client',
    ca: 'ca',
    profile: 'client',
    scope: 'node',
    etcd: false,
    cn: (h) => `system:node:${h.name}`,
    o: ['system:nodes'],
    files: inHostDir('kubelets', 'kubelet-client'),
  },
  {
    name: 'kubelet-server',
    title: 'kubelet serving',
    ca: 'ca',
    profile: 'server',
    scope: 'node',
    etcd: false,
    cn: (h) => h.name,
    sans: kubeletServingSans,
    files: inHostDir('kubelets', 'kubelet-server'),
  },

  // Client identities that live only inside their kubeconfig (see KUBECONFIG_SPECS).
  { name: 'admin', title: 'admin', ca: 'ca', profile: 'client', scope: 'cluster', etcd: false, cn: 'kubernetes-admin', o: ['kubeadm:cluster-admins'] },
  {
    name: 'super-admin',
    title: 'super-admin',
    ca: 'ca',
    profile: 'client',
    scope: 'cluster',
    etcd: false,
    cn: 'kubernetes-super-admin',
    o: ['system:masters'],
  },
  { name: 'kube-proxy', title: 'kube-proxy', ca: 'ca', profile: 'client', scope: 'cluster', etcd: false, cn: 'system:kube-proxy' },
  {
    name: 'controller-manager',
    title: 'kube-controller-manager',
    ca: 'ca',
    profile: 'client',
    scope: 'master',
    etcd: false,
    cn: 'system:kube-controller-manager',
  },
  { name: 'scheduler', title: 'kube-scheduler', ca: 'ca', profile: 'client', scope: 'master', etcd: false, cn: 'system:kube-scheduler' },
];

export interface KubeconfigSpec {
  readonly cert: string;
  readonly file: PerHost<string>;
  /** `endpoint`: the API endpoint (VIP, load balancer or a master's address), also from the operator's machine;
   * `in-cluster`: how a kubelet host reaches the API (the endpoint, or with node-local its own 127.0.0.1: the
   * load balancer on a node, its own API server on a master); `own-master`: the master's own API server. */
  readonly server: 'endpoint' | 'in-cluster' | 'own-master';
}

/** The administrators' kubeconfigs, by the certificate they embed: deploy talks to the API servers with them. */
export const ADMIN_KUBECONFIGS = { admin: 'kubeconfigs/admin.conf', 'super-admin': 'kubeconfigs/super-admin.conf' } as const;

export const KUBECONFIG_SPECS: readonly KubeconfigSpec[] = [
  { cert: 'admin', file: ADMIN_KUBECONFIGS.admin, server: 'endpoint' },
  { cert: 'super-admin', file: ADMIN_KUBECONFIGS['super-admin'], server: 'endpoint' },
  { cert: 'kube-proxy', file: 'kubeconfigs/kube-proxy.conf', server: 'in-cluster' },
  { cert: 'controller-manager', file: inHostDir('masterKubeconfigs', 'controller-manager.conf'), server: 'own-master' },
  { cert: 'scheduler', file: inHostDir('masterKubeconfigs', 'scheduler.conf'), server: 'own-master' },
  { cert: 'kubelet-client', file: inHostDir('nodeKubeconfigs', 'kubelet.conf'), server: 'in-cluster' },
];

/** The service-account signing key pair (no certificate). */
export const SERVICE_ACCOUNT_FILES = { key: 'pki/sa.key', pub: 'pki/sa.pub' } as const;

// ---- expansion for one cluster ----

export interface CertInstance {
  /** `apiserver`, or `etcd-server/master-1` for per-host kinds. */
  readonly id: string;
  readonly spec: CertSpec;
  readonly host?: Host;
  /** The signing CA (its own name for a CA). */
  readonly ca: CaName;
  readonly subject: Subject;
  readonly altNames: AltNames;
  readonly validityDays: number;
  readonly files?: { readonly crt: string; readonly key: string };
}

export interface KubeconfigInstance {
  readonly file: string;
  readonly certId: string;
  readonly server: string;
  readonly clusterName: string;
}

export interface PkiPlan {
  readonly certs: readonly CertInstance[];
  readonly kubeconfigs: readonly KubeconfigInstance[];
  readonly serviceAccount: boolean;
}

const perHost = <T>(value: PerHost<T>, host: Host | undefined): T => (typeof value === 'function' ? (value as (h: Host) => T)(need(host)) : value);

/** DNS names de-duplicated and sorted, IPs de-duplicated in first-seen order (kubeadm RemoveDuplicateAltNames). */
export const altNames = (names: readonly string[]): AltNames => ({
  dnsNames: [...new Set(names.filter((n) => !isIpAddress(n)))].sort(),
  ipAddresses: [...new Set(names.filter(isIpAddress).map(canonicalIp))],
});

const hostsInScope = (model: PkiModel, scope: Scope): (Host | undefined)[] =>
  scope === 'cluster' ? [undefined] : model.hosts.filter((h) => runsRole(h, scope));

export const instanceId = (spec: CertSpec, host: Host | undefined): string => (host ? `${spec.name}/${host.name}` : spec.name);

/** Every certificate and kubeconfig this cluster needs, with subjects and SANs filled in. */
export const expandPki = (model: PkiModel): PkiPlan => {
  const etcdOnly = isEtcdOnly(model);
  const specs = CERT_SPECS.filter((s) => s.etcd || !etcdOnly);
  const certs = specs.flatMap((spec) =>
    hostsInScope(model, spec.scope).map((host): CertInstance => {
      const base = spec.files && perHost(spec.files, host);
      return {
        id: instanceId(spec, host),
        spec,
        host,
        ca: spec.ca === 'self' ? (spec.name as CaName) : spec.ca,
        subject: { cn: perHost(spec.cn, host), o: spec.o ?? [] },
        altNames: altNames(spec.ca === 'self' ? [perHost(spec.cn, host)] : (spec.sans?.(model, host) ?? [])),
        validityDays: spec.ca === 'self' ? model.caValidityDays : model.certValidityDays,
        files: base ? { crt: `${base}.crt`, key: `${base}.key` } : undefined,
      };
    }),
  );
  const bySpecAndHost = new Map(certs.map((c) => [c.id, c]));
  const kubeconfigs = etcdOnly
    ? []
    : KUBECONFIG_SPECS.flatMap((k) => {
        const spec = CERT_SPECS.find((s) => s.name === k.cert)!;
        return hostsInScope(model, spec.scope).map((host): KubeconfigInstance => {
          const cert = bySpecAndHost.get(instanceId(spec, host))!;
          return {
            file: perHost(k.file, host),
            certId: cert.id,
            server: serverUrl(model, k.server, host),
            clusterName: model.name,
          };
        });
      });
  return { certs, kubeconfigs, serviceAccount: !etcdOnly };
};

const serverUrl = (model: PkiModel, server: KubeconfigSpec['server'], host: Host | undefined): string =>
  server === 'own-master'
    ? `https://${hostPort(need(host).internalAddress, model.apiServerPort)}`
    : server === 'in-cluster' && model.apiEndpoint.kind === 'node-local'
      ? `https://${hostPort(NODE_LOCAL_API_HOST, model.apiServerPort)}`
      : model.apiEndpoint.url;
