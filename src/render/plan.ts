// The whole cluster's desired state: for every host, every file (path, mode, bytes or local binary,
// sha256) and every service, built from the model, the cluster folder's files and the hashed binaries.
// Pure: the same inputs give the same plan, which is what makes a re-run of deploy change nothing.
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import type { ImageIndex } from '../images/load.js';
import { componentRoles, holdsVip, runsKubelet, runsLocalLoadBalancer, type ClusterModel, type Host, type Role } from '../inventory/model.js';
import { parsePodSubnets, podSubnetHosts, POD_SUBNETS_FILE } from '../network/pod-subnets.js';
import { expandPki } from '../pki/specs.js';
import { trustBundle } from '../pki/rotation.js';
import { VRRP_PASSWORD_FILE } from '../pki/vrrp.js';
import { KubeinstallError } from '../util/errors.js';
import { binariesFor } from './binaries.js';
import { hostFlagProblems } from './component-flags.js';
import { renderControlPlane } from './control-plane.js';
import { renderCoreDns } from './coredns.js';
import { renderEtcd } from './etcd.js';
import { renderLocalLoadBalancer } from './lb.js';
import { renderKubeletConfig, renderNode } from './node.js';
import { renderKeepalived } from './keepalived.js';
import { NO_REGISTRY_INPUTS, renderRegistries, type RegistryInputs } from './registries.js';
import { bridgeConfPath, CNI_BIN_DIR, cniBinary, CNI_PLUGINS, OS_CNI_BIN_DIR, POD_ROUTES_SCRIPT, renderPodNetwork } from './pod-network.js';
import { binPath, HOST_PATHS } from './paths.js';
import { pkiMode, pkiSources, placementsFor } from './pki-files.js';
import type { RenderInputs, RoleRender } from './rendered.js';
import { renderAsset } from './template.js';
import type { BinaryIndex, ClusterFiles, ClusterPlan, HostPlan, PendingFile, PlannedFile, PlannedImageArchive, PlannedService } from './types.js';

const OWNER = 'root:root';
const MAX_LISTED = 20;

const ROLE_RENDERERS: Readonly<Record<Role, (model: ClusterModel, host: Host, inputs: RenderInputs) => RoleRender>> = {
  etcd: renderEtcd,
  master: renderControlPlane,
  node: renderNode,
};

/** What a host runs for the API endpoint rather than for a role (the node-local load balancer). */
const ENDPOINT_RENDERERS: readonly {
  readonly runs: (model: ClusterModel, host: Host) => boolean;
  readonly render: (model: ClusterModel, host: Host) => RoleRender;
}[] = [{ runs: runsLocalLoadBalancer, render: renderLocalLoadBalancer }];

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

const inline = (path: string, mode: number, data: Buffer, restarts: readonly string[], reloads?: readonly string[]): PlannedFile => ({
  path,
  mode,
  owner: OWNER,
  content: { kind: 'inline', data },
  size: data.length,
  sha256: sha256(data),
  restarts,
  ...(reloads?.length ? { reloads } : {}),
});

/** One file per path: a path two roles both place (ca.crt on a master that is also a node) must agree, and restarts merge. */
const mergeByPath = (files: readonly PlannedFile[], hostName: string): PlannedFile[] => {
  const byPath = new Map<string, PlannedFile>();
  for (const f of files) {
    const seen = byPath.get(f.path);
    if (!seen) {
      byPath.set(f.path, f);
      continue;
    }
    if (seen.sha256 !== f.sha256 || seen.mode !== f.mode) throw new Error(`render bug: two different files for ${f.path} on ${hostName}`);
    byPath.set(f.path, { ...seen, restarts: [...new Set([...seen.restarts, ...f.restarts])] });
  }
  return [...byPath.values()].sort((a, b) => a.path.localeCompare(b.path));
};

interface Inputs {
  readonly clusterFiles: ClusterFiles;
  readonly pkiSource: ReturnType<typeof pkiSources>;
  readonly binaries: BinaryIndex;
  readonly images: ImageIndex;
  readonly registries: RegistryInputs;
  readonly render: RenderInputs;
}

/** Every archive of images/ goes to every kubelet host, which imports it before its kubelet starts. */
const onHost = (file: string): string => `${HOST_PATHS.imagesDir}/${file}`;
const plannedImages = (images: ImageIndex): { files: PlannedFile[]; archives: PlannedImageArchive[] } => ({
  files: images.map((a) => ({
    path: onHost(a.file),
    mode: 0o600,
    owner: OWNER,
    content: { kind: 'local', localPath: a.localPath },
    size: a.size,
    sha256: a.sha256,
    restarts: [],
  })),
  archives: images.map((a) => ({ path: onHost(a.file), file: a.file, images: a.images })),
});

/** The bridge network takes the plugins from the binaries folder when it has them (uploaded), else from the OS package;
 * other networks install their own into CNI_BIN_DIR. */
const uploadsCniPlugins = (model: ClusterModel, binaries: BinaryIndex): boolean => model.network.plugin === 'bridge' && binaries.has(cniBinary('bridge'));
const cniBinDirOf = (model: ClusterModel, binaries: BinaryIndex): string =>
  model.network.plugin === 'bridge' && !uploadsCniPlugins(model, binaries) ? OS_CNI_BIN_DIR : CNI_BIN_DIR;

/** The binaries a host gets: its roles', and the CNI plugins when they are uploaded. */
const hostBinaries = (model: ClusterModel, host: Host, binaries: BinaryIndex) => [
  ...binariesFor(host).map((b) => ({ ...b, path: binPath(b.name) })),
  ...(runsKubelet(host) && uploadsCniPlugins(model, binaries)
    ? CNI_PLUGINS.map((p) => ({ name: cniBinary(p), restarts: [] as readonly string[], path: `${CNI_BIN_DIR}/${p}` }))
    : []),
];

/** The recorded pod subnets, when this host gets the bridge network and every kubelet host has one (`certs` records them). */
const podSubnetsOf = (model: ClusterModel, host: Host, clusterFiles: ClusterFiles): Readonly<Record<string, string>> | undefined => {
  if (!podSubnetHosts({ network: model.network, hosts: [host] }).length) return undefined;
  const record = clusterFiles.get(POD_SUBNETS_FILE);
  const subnets = record ? parsePodSubnets(record, `${model.clusterDir}/${POD_SUBNETS_FILE}`).hosts : {};
  return podSubnetHosts(model).every((h) => subnets[h.name]) ? subnets : undefined;
};

const buildHostPlan = (model: ClusterModel, host: Host, { clusterFiles, pkiSource, binaries, images, registries, render: renderInputs }: Inputs): HostPlan => {
  const files: PlannedFile[] = [];
  const pending: PendingFile[] = [];
  for (const p of placementsFor(pkiSource, host)) {
    const beside = p.bundledWith === undefined ? undefined : clusterFiles.get(p.bundledWith);
    const own = clusterFiles.get(p.from);
    const data = own && beside ? Buffer.from(trustBundle(own.toString(), beside.toString())) : own;
    if (data) files.push(inline(p.to, pkiMode(p.from), p.render ? p.render(data) : data, p.restarts));
    else pending.push({ path: p.to, mode: pkiMode(p.from), from: p.from, awaiting: 'pki' });
  }
  for (const b of hostBinaries(model, host, binaries)) {
    const local = binaries.get(b.name);
    if (!local) {
      pending.push({ path: b.path, mode: 0o755, from: `binary ${b.name}`, awaiting: 'binary' });
      continue;
    }
    files.push({
      path: b.path,
      mode: 0o755,
      owner: OWNER,
      content: { kind: 'local', localPath: local.localPath },
      size: local.size,
      sha256: local.sha256,
      restarts: b.restarts,
    });
  }
  const services: PlannedService[] = [];
  const renders = [...componentRoles(host).map((role) => ROLE_RENDERERS[role]), ...ENDPOINT_RENDERERS.filter((r) => r.runs(model, host)).map((r) => r.render)];
  const add = (rendered: RoleRender): void => {
    files.push(...rendered.files.map((f) => inline(f.path, f.mode, f.data, f.restarts, f.reloads)));
    services.push(...rendered.services);
  };
  for (const render of renders) add(render(model, host, renderInputs));
  const subnets = podSubnetsOf(model, host, clusterFiles);
  if (subnets) add(renderPodNetwork(model, host, subnets));
  else if (podSubnetHosts({ network: model.network, hosts: [host] }).length) {
    for (const path of [bridgeConfPath, POD_ROUTES_SCRIPT]) pending.push({ path, mode: 0o644, from: POD_SUBNETS_FILE, awaiting: 'pki' });
  }
  if (holdsVip(model, host)) {
    const password = clusterFiles.get(VRRP_PASSWORD_FILE);
    if (!password) pending.push({ path: HOST_PATHS.keepalivedConf, mode: 0o600, from: VRRP_PASSWORD_FILE, awaiting: 'pki' });
    else add(renderKeepalived(model, host, password));
  }
  const kubeletHost = runsKubelet(host);
  if (kubeletHost) {
    const mirrors = renderRegistries(model.registries, registries);
    add({ files: mirrors.files, services: [] });
    pending.push(...mirrors.missing.map((m) => ({ ...m, mode: 0o600, awaiting: 'environment' as const })));
  }
  const archives = kubeletHost ? plannedImages(images) : { files: [], archives: [] };
  files.push(...archives.files);
  // A path two roles both place (ca.crt on a master that is also a node) is pending once.
  const pendingByPath = new Map(pending.map((p) => [p.path, p]));
  return {
    host,
    files: mergeByPath(files, host.name),
    ...(archives.archives.length ? { images: archives.archives } : {}),
    services,
    pending: [...pendingByPath.values()].sort((a, b) => a.path.localeCompare(b.path)),
    ...(subnets ? { podSubnet: subnets[host.name] } : {}),
  };
};

/** The host's plan with the kubelet config naming `resolvConf`: deploy calls it once the facts tell which resolv.conf the
 * host's resolvers are in (node.ts kubeletResolvConf); the plan before facts (`plan`, the first look) names the plain one. */
export const withKubeletResolvConf = (model: ClusterModel, hp: HostPlan, resolvConf: string): HostPlan => {
  const current = hp.files.find((f) => f.path === HOST_PATHS.kubeletConfig);
  if (!current) return hp;
  const file = inline(current.path, current.mode, Buffer.from(renderKubeletConfig(model, hp.host, resolvConf)), current.restarts, current.reloads);
  return file.sha256 === current.sha256 ? hp : { ...hp, files: hp.files.map((f) => (f === current ? file : f)) };
};

const MANIFESTS = ['cluster-admins.yaml', 'apiserver-kubelet-client.yaml'] as const;

export interface PlanOptions {
  /** List files whose inputs are missing as pending instead of failing (`plan` before `certs` or before the binaries). */
  readonly allowMissing?: boolean;
  /** `<binariesDir>/images/` (none when left out). */
  readonly images?: ImageIndex;
  /** The registries' CA files and credentials (cluster.registries; left out: none read). */
  readonly registries?: RegistryInputs;
  /** Files awaiting only credentials from the environment are pending, not an error (commands that upload nothing). */
  readonly allowMissingSecrets?: boolean;
}

export const buildClusterPlan = (model: ClusterModel, clusterFiles: ClusterFiles, binaries: BinaryIndex, opts: PlanOptions = {}): ClusterPlan => {
  const flagErrors = model.hosts.flatMap((h) => hostFlagProblems(model, h));
  if (flagErrors.length > 0) throw new Error(`render bug: flags the Kubernetes ${model.kubernetesMinor} binaries reject:\n  ${flagErrors.join('\n  ')}`);
  const inputs = {
    clusterFiles,
    pkiSource: pkiSources(expandPki(model)),
    binaries,
    images: opts.images ?? [],
    registries: opts.registries ?? NO_REGISTRY_INPUTS,
    render: { cniBinDir: cniBinDirOf(model, binaries) },
  };
  const hosts = model.hosts.map((h) => buildHostPlan(model, h, inputs));
  const missing = hosts.flatMap((h) =>
    (h.pending ?? [])
      .filter((p) => !(opts.allowMissingSecrets && p.awaiting === 'environment'))
      .map((p) => ({ host: h.host.name, what: p.awaiting === 'binary' ? p.from : `${p.from} (for ${p.path})` })),
  );
  if (missing.length > 0 && !opts.allowMissing) {
    const lines = missing.slice(0, MAX_LISTED).map((m) => `  ${m.host}: ${m.what}`);
    if (missing.length > MAX_LISTED) lines.push(`  …and ${missing.length - MAX_LISTED} more`);
    throw new KubeinstallError(
      `cannot plan: ${missing.length} input${missing.length === 1 ? ' is' : 's are'} missing ` +
        `(cluster folder ${model.clusterDir}, binaries folder ${model.binariesDir}):\n` +
        lines.join('\n') +
        `\nrun \`kubeinstall certs -i ${model.inventoryPath}\` for PKI files, \`kubeinstall binaries fetch -i ${model.inventoryPath}\` for the binaries`,
    );
  }
  const hasMasters = model.hosts.some((h) => h.roles.includes('master'));
  // Applied in this order: the RBAC bindings a binary install needs, cluster DNS, then the user's network (plugin manifest:
  // read and parsed when the inventory was loaded).
  // (named after its file: `plan --write` puts it beside ours in manifests/)
  const network = model.network.manifest ? [{ name: `network-${posix.basename(model.network.manifest.path)}`, yaml: model.network.manifest.yaml }] : [];
  const manifests = [...MANIFESTS.map((name) => ({ name, yaml: renderAsset(`manifests/${name}`, {}) })), ...renderCoreDns(model), ...network];
  return { hosts, manifests: hasMasters ? manifests : [] };
};
