// The binaries each role runs, from the binaries folder to /usr/local/bin.
import { componentRoles, type Host, type Role } from '../inventory/model.js';
import { UNITS } from './units.js';

export interface BinarySpec {
  readonly name: string;
  /** The unit to restart when the binary changes (none for CLI tools and shims that containerd starts). */
  readonly restarts: readonly string[];
}

export const ROLE_BINARIES: Readonly<Record<Role, readonly BinarySpec[]>> = {
  etcd: [
    { name: 'etcd', restarts: [UNITS.etcd] },
    { name: 'etcdctl', restarts: [] },
  ],
  master: [
    { name: 'kube-apiserver', restarts: [UNITS.apiserver] },
    { name: 'kube-controller-manager', restarts: [UNITS.controllerManager] },
    { name: 'kube-scheduler', restarts: [UNITS.scheduler] },
    { name: 'kubectl', restarts: [] },
  ],
  node: [
    { name: 'containerd', restarts: [UNITS.containerd] },
    { name: 'containerd-shim-runc-v2', restarts: [] },
    { name: 'runc', restarts: [] },
    // deploy imports the offline images with it (src/deploy/images.ts); containerd's release ships it
    { name: 'ctr', restarts: [] },
    { name: 'kubelet', restarts: [UNITS.kubelet] },
    { name: 'kube-proxy', restarts: [UNITS.kubeProxy] },
  ],
};

export const binariesFor = (host: Host): BinarySpec[] => componentRoles(host).flatMap((role) => ROLE_BINARIES[role]);

/** Every binary name some host of the model needs, with the roles needing it (for error messages). */
export const requiredBinaries = (hosts: readonly Host[]): ReadonlyMap<string, readonly Role[]> => {
  const needed = new Map<string, Role[]>();
  for (const role of new Set(hosts.flatMap(componentRoles))) {
    for (const b of ROLE_BINARIES[role]) needed.set(b.name, [...(needed.get(b.name) ?? []), role]);
  }
  return needed;
};

/** The table as README.md carries it (between the role-binaries markers; `npm run docs:inventory` rewrites it). */
export const renderRoleBinariesMarkdown = (): string =>
  Object.entries(ROLE_BINARIES)
    .map(([role, specs]) => `- \`${role}\`: ${specs.map((b) => `\`${b.name}\``).join(', ')}`)
    .join('\n');

/** The table as `--help` shows it. */
export const renderRoleBinariesHelp = (): string => {
  const width = Math.max(...Object.keys(ROLE_BINARIES).map((r) => r.length));
  return Object.entries(ROLE_BINARIES)
    .map(([role, specs]) => `  ${`${role}:`.padEnd(width + 1)}  ${specs.map((b) => b.name).join(', ')}`)
    .join('\n');
};
