// The whole cluster's desired state: for every host, every file (path, mode, bytes or local binary,
// sha256) and every service, built from the model, the cluster folder's files and the hashed binaries.
// Pure: the same inputs give the same plan, which is what makes a re-run of deploy change nothing.
import { createHash } from 'node:crypto';
import { componentRoles, holdsVip, runsLocalLoadBalancer, type ClusterModel, type Host, type Role } from '../inventory/model.js';
import { expandPki } from '../pki/specs.js';
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
import { binPath, HOST_PATHS } from './paths.js';
import { pkiMode, pkiSources, placementsFor } from './pki-files.js';
import type { RoleRender } from './rendered.js';
import { renderAsset } from './template.js';
import type { BinaryIndex, ClusterFiles, ClusterPlan, HostPlan, PendingFile, PlannedFile, PlannedService } from './types.js';

const OWNER = 'root:root';
const MAX_LISTED = 20;

const ROLE_RENDERERS: Readonly<Record<Role, (model: ClusterModel, host: Host) => RoleRender>> = {
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
}

const buildHostPlan = (model: ClusterModel, host: Host, { clusterFiles, pkiSource, binaries }: Inputs): HostPlan => {
  const files: PlannedFile[] = [];
  const pending: PendingFile[] = [];
  for (const p of placementsFor(pkiSource, host)) {
    const data = clusterFiles.get(p.from);
    if (data) files.push(inline(p.to, pkiMode(p.from), p.render ? p.render(data) : data, p.restarts));
    else pending.push({ path: p.to, mode: pkiMode(p.from), from: p.from, awaiting: 'pki' });
  }
  for (const b of binariesFor(host)) {
    const local = binaries.get(b.name);
    if (!local) {
      pending.push({ path: binPath(b.name), mode: 0o755, from: `binary ${b.name}`, awaiting: 'binary' });
      continue;
    }
    files.push({
      path: binPath(b.name),
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
  for (const render of renders) add(render(model, host));
  if (holdsVip(model, host)) {
    const password = clusterFiles.get(VRRP_PASSWORD_FILE);
    if (!password) pending.push({ path: HOST_PATHS.keepalivedConf, mode: 0o600, from: VRRP_PASSWORD_FILE, awaiting: 'pki' });
    else add(renderKeepalived(model, host, password));
  }
  // A path two roles both place (ca.crt on a master that is also a node) is pending once.
  const pendingByPath = new Map(pending.map((p) => [p.path, p]));
  return { host, files: mergeByPath(files, host.name), services, pending: [...pendingByPath.values()].sort((a, b) => a.path.localeCompare(b.path)) };
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
}

export const buildClusterPlan = (model: ClusterModel, clusterFiles: ClusterFiles, binaries: BinaryIndex, opts: PlanOptions = {}): ClusterPlan => {
  const flagErrors = model.hosts.flatMap((h) => hostFlagProblems(model, h));
  if (flagErrors.length > 0) throw new Error(`render bug: flags the Kubernetes ${model.kubernetesMinor} binaries reject:\n  ${flagErrors.join('\n  ')}`);
  const inputs = { clusterFiles, pkiSource: pkiSources(expandPki(model)), binaries };
  const hosts = model.hosts.map((h) => buildHostPlan(model, h, inputs));
  const missing = hosts.flatMap((h) =>
    (h.pending ?? []).map((p) => ({ host: h.host.name, what: p.awaiting === 'pki' ? `${p.from} (for ${p.path})` : p.from })),
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
  // Applied in this order: the RBAC bindings a binary install needs, then cluster DNS.
  const manifests = [...MANIFESTS.map((name) => ({ name, yaml: renderAsset(`manifests/${name}`, {}) })), ...renderCoreDns(model)];
  return { hosts, manifests: hasMasters ? manifests : [] };
};
