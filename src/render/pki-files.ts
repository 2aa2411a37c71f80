// Which PKI files and kubeconfigs each role's hosts receive, as one table: the file by its name in the
// PKI table (src/pki/specs.ts, which alone knows where it lies in the cluster folder) -> path on the host,
// and the units that must restart when it changes.
// Minimality lives here: only masters get ca.key (the controller-manager signs with it), sa.key and the
// Secrets encryption key (inside the EncryptionConfiguration); a node gets certificates and its own
// kubeconfigs, never a CA key.
// A CA's `ca.crt` on a host is its trust bundle (src/pki/rotation.ts): the CA, and during a rotation the CA beside it;
// the controller-manager signs with its own copy of the CA's certificate alone, which it requires.
import { runsRole, type Host, type Role } from '../inventory/model.js';
import { ENCRYPTION_KEY_FILE } from '../pki/encryption.js';
import { rotationCaFiles } from '../pki/rotation.js';
import { SERVICE_ACCOUNT_FILES, type CaName, type CertInstance, type PkiPlan } from '../pki/specs.js';
import { renderEncryptionConfig } from './encryption.js';
import { etcdPki, HOST_PATHS, pki } from './paths.js';
import { UNITS } from './units.js';

/** A certificate's `.crt` or `.key` (by CERT_SPECS name; a per-host kind means this host's own), the
 * kubeconfig embedding a certificate (by the same name), a key file outside the certificate table, or a CA's trust bundle. */
export type PkiSource =
  | { readonly cert: string; readonly part: 'crt' | 'key' }
  | { readonly kubeconfig: string }
  | { readonly file: string }
  | { readonly trust: CaName };

export interface PkiPlacement {
  readonly role: Role;
  readonly source: PkiSource;
  readonly to: string;
  readonly restarts: readonly string[];
  /** What the host gets instead of the file itself (a config built from it). */
  readonly render?: (data: Buffer) => Buffer;
}

const { etcd, apiserver, controllerManager, scheduler, kubelet, kubeProxy } = UNITS;
const crt = (cert: string): PkiSource => ({ cert, part: 'crt' });
const key = (cert: string): PkiSource => ({ cert, part: 'key' });
const kubeconfig = (cert: string): PkiSource => ({ kubeconfig: cert });
const trust = (ca: CaName): PkiSource => ({ trust: ca });

export const PKI_PLACEMENTS: readonly PkiPlacement[] = [
  { role: 'etcd', source: trust('etcd-ca'), to: etcdPki('ca.crt'), restarts: [etcd] },
  { role: 'etcd', source: crt('etcd-server'), to: etcdPki('server.crt'), restarts: [etcd] },
  { role: 'etcd', source: key('etcd-server'), to: etcdPki('server.key'), restarts: [etcd] },
  { role: 'etcd', source: crt('etcd-peer'), to: etcdPki('peer.crt'), restarts: [etcd] },
  { role: 'etcd', source: key('etcd-peer'), to: etcdPki('peer.key'), restarts: [etcd] },
  // For health probes run on the member itself (etcdctl endpoint health).
  { role: 'etcd', source: crt('etcd-healthcheck-client'), to: etcdPki('healthcheck-client.crt'), restarts: [] },
  { role: 'etcd', source: key('etcd-healthcheck-client'), to: etcdPki('healthcheck-client.key'), restarts: [] },

  { role: 'master', source: trust('ca'), to: pki('ca.crt'), restarts: [apiserver, controllerManager] },
  { role: 'master', source: crt('ca'), to: HOST_PATHS.clusterSigningCert, restarts: [controllerManager] },
  { role: 'master', source: key('ca'), to: pki('ca.key'), restarts: [controllerManager] },
  { role: 'master', source: crt('apiserver'), to: pki('apiserver.crt'), restarts: [apiserver] },
  { role: 'master', source: key('apiserver'), to: pki('apiserver.key'), restarts: [apiserver] },
  { role: 'master', source: crt('apiserver-kubelet-client'), to: pki('apiserver-kubelet-client.crt'), restarts: [apiserver] },
  { role: 'master', source: key('apiserver-kubelet-client'), to: pki('apiserver-kubelet-client.key'), restarts: [apiserver] },
  { role: 'master', source: crt('apiserver-etcd-client'), to: pki('apiserver-etcd-client.crt'), restarts: [apiserver] },
  { role: 'master', source: key('apiserver-etcd-client'), to: pki('apiserver-etcd-client.key'), restarts: [apiserver] },
  { role: 'master', source: trust('etcd-ca'), to: etcdPki('ca.crt'), restarts: [apiserver] },
  { role: 'master', source: trust('front-proxy-ca'), to: pki('front-proxy-ca.crt'), restarts: [apiserver, controllerManager] },
  { role: 'master', source: crt('front-proxy-client'), to: pki('front-proxy-client.crt'), restarts: [apiserver] },
  { role: 'master', source: key('front-proxy-client'), to: pki('front-proxy-client.key'), restarts: [apiserver] },
  { role: 'master', source: { file: SERVICE_ACCOUNT_FILES.key }, to: pki('sa.key'), restarts: [apiserver, controllerManager] },
  { role: 'master', source: { file: SERVICE_ACCOUNT_FILES.pub }, to: pki('sa.pub'), restarts: [apiserver] },
  { role: 'master', source: { file: ENCRYPTION_KEY_FILE }, to: HOST_PATHS.encryptionConfig, restarts: [apiserver], render: renderEncryptionConfig },
  { role: 'master', source: kubeconfig('admin'), to: HOST_PATHS.adminConf, restarts: [] },
  { role: 'master', source: kubeconfig('controller-manager'), to: HOST_PATHS.controllerManagerConf, restarts: [controllerManager] },
  { role: 'master', source: kubeconfig('scheduler'), to: HOST_PATHS.schedulerConf, restarts: [scheduler] },

  { role: 'node', source: trust('ca'), to: pki('ca.crt'), restarts: [kubelet] },
  { role: 'node', source: kubeconfig('kubelet-client'), to: HOST_PATHS.kubeletConf, restarts: [kubelet] },
  { role: 'node', source: crt('kubelet-server'), to: HOST_PATHS.kubeletServingCert, restarts: [kubelet] },
  { role: 'node', source: key('kubelet-server'), to: HOST_PATHS.kubeletServingKey, restarts: [kubelet] },
  { role: 'node', source: kubeconfig('kube-proxy'), to: HOST_PATHS.kubeProxyKubeconfig, restarts: [kubeProxy] },
];

/** Certificates are public (0644); keys, sa.pub and kubeconfigs (which embed keys) are 0600, as kubeadm writes them. */
export const pkiMode = (from: string): number => (from.endsWith('.crt') ? 0o644 : 0o600);

/** A certificate of the PKI by its name in the table, for a host: the cluster's one, or this host's own of a per-host kind. */
const certInstances = (plan: PkiPlan) => {
  const certs = new Map(plan.certs.map((c) => [`${c.spec.name} ${c.host?.name ?? ''}`, c]));
  return (host: Host, name: string): CertInstance | undefined => certs.get(`${name} `) ?? certs.get(`${name} ${host.name}`);
};

/** Resolves sources against one cluster's PKI: where each lies in the cluster folder, for a host (a
 * per-host kind is that host's own); a name the PKI lacks is a bug in the table above. */
export const pkiSources = (plan: PkiPlan) => {
  const instanceOf = certInstances(plan);
  const kubeconfigs = new Map(plan.kubeconfigs.map((k) => [k.certId, k.file]));
  return (host: Host, source: PkiSource): string => {
    if ('file' in source) return source.file;
    if ('trust' in source) return instanceOf(host, source.trust)!.files!.crt;
    const name = 'cert' in source ? source.cert : source.kubeconfig;
    const cert = instanceOf(host, name);
    const found = 'cert' in source ? cert?.files?.[source.part] : cert && kubeconfigs.get(cert.id);
    if (!found)
      throw new Error(`render bug: the PKI of this cluster has no ${'cert' in source ? `${name}.${source.part}` : `kubeconfig of ${name}`} for ${host.name}`);
    return found;
  };
};

/** A placement of this host, with its source's path in the cluster folder; a trust bundle's also names the file of the
 * CA beside it during a rotation, appended to the host's file when the cluster folder has it. */
export type HostPlacement = Omit<PkiPlacement, 'role' | 'source'> & { readonly from: string; readonly bundledWith?: string };

/** The placements of this host's roles, each with its source's path in the cluster folder. */
export const placementsFor = (sourceOf: ReturnType<typeof pkiSources>, host: Host): HostPlacement[] =>
  PKI_PLACEMENTS.filter((p) => runsRole(host, p.role)).map(({ role: _role, source, ...p }) => ({
    ...p,
    from: sourceOf(host, source),
    ...('trust' in source ? { bundledWith: rotationCaFiles(source.trust).crt } : {}),
  }));

/** What a deploy does on one host for changed cluster-folder files: the host paths it uploads and the units it restarts. */
export interface ChangedOnHost {
  readonly host: string;
  readonly files: readonly string[];
  readonly restarts: readonly string[];
}

/** Per host, what these changed cluster-folder files (`certs renew`'s) make deploy upload and restart; hosts they miss are left out. */
export const changedOnHosts = (plan: PkiPlan, hosts: readonly Host[], changed: ReadonlySet<string>): ChangedOnHost[] => {
  const sourceOf = pkiSources(plan);
  const order: readonly string[] = Object.values(UNITS);
  return hosts.flatMap((host) => {
    const placed = placementsFor(sourceOf, host).filter((p) => changed.has(p.from) || (p.bundledWith !== undefined && changed.has(p.bundledWith)));
    const restarts = [...new Set(placed.flatMap((p) => p.restarts))].sort((a, b) => order.indexOf(a) - order.indexOf(b));
    return placed.length ? [{ host: host.name, files: placed.map((p) => p.to), restarts }] : [];
  });
};

/** A certificate as a host holds it: a `.crt`, or the client certificate inside a kubeconfig. */
export interface PlacedCertificate {
  /** The certificate's id in the PKI (`apiserver`, `etcd-server/m1`). */
  readonly id: string;
  readonly ca: string;
  /** In the cluster folder. */
  readonly from: string;
  /** On the host. */
  readonly to: string;
  readonly embedded: boolean;
}

/** Every certificate a host holds, in table order: what `verify-certs --remote` reads back. */
export const certificatesOn = (plan: PkiPlan, host: Host): PlacedCertificate[] => {
  const instanceOf = certInstances(plan);
  const sourceOf = pkiSources(plan);
  const seen = new Set<string>();
  // A master gets ca.crt as a master and as a node, the same file: it is read once.
  return PKI_PLACEMENTS.filter((p) => runsRole(host, p.role)).flatMap(({ source, to }) => {
    if ('file' in source || ('cert' in source && source.part !== 'crt') || seen.has(to)) return [];
    seen.add(to);
    // a trust bundle is read as its first certificate: the CA itself
    const c = instanceOf(host, 'cert' in source ? source.cert : 'trust' in source ? source.trust : source.kubeconfig)!;
    return [{ id: c.id, ca: c.ca, from: sourceOf(host, source), to, embedded: 'kubeconfig' in source }];
  });
};
