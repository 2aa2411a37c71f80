// The inventory as `validateAgainstSchema` hands it to resolve: every field checked, and every default of
// the schema table (schema.ts) already applied, so resolve never supplies one of its own.
import { homedir } from 'node:os';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import type { PathSegment } from './parse.js';
import type { FieldProblem } from './validate.js';
import type { ApiEndpointKind, ClusterDns, KeyAlgorithm, NetworkPlugin, Role, SshTarget, Taint } from './model.js';

/** The model's shape, but `identityFile` as written (resolve makes it absolute and expands `~`). */
export type SshTargetInput = SshTarget;

export interface BastionInput extends SshTargetInput {
  readonly address: string;
}

export interface SshInput extends SshTargetInput {
  /** No default in the table: it follows the user (see schema.ts `defaultText`). */
  readonly sudo?: boolean;
  readonly sudoPasswordEnv?: string;
  readonly bastion?: BastionInput;
}

export interface HostInput {
  readonly name: string;
  readonly address: string;
  readonly internalAddress?: string;
  readonly roles: readonly Role[];
  readonly labels?: Readonly<Record<string, string>>;
  readonly taints?: readonly Taint[];
  /** Overrides of the top-level `ssh`, which has no defaults of its own. */
  readonly ssh?: Partial<SshInput>;
}

export interface RegistryInput {
  readonly host: string;
  readonly mirrors: readonly string[];
  readonly caFile?: string;
  readonly usernameEnv?: string;
  readonly passwordEnv?: string;
}

export interface NetworkInput {
  readonly plugin: NetworkPlugin;
  /** No default in the table: it follows the pod CIDR's family (see schema.ts `defaultText`). */
  readonly nodeSubnetSize?: number;
  readonly manifest?: string;
}

export interface ClusterInput {
  readonly name: string;
  readonly kubernetesVersion: string;
  readonly etcdVersion: string;
  readonly apiEndpoint?: string;
  /** No default in the table: it follows the masters and apiEndpoint (see resolve-endpoint.ts). */
  readonly apiEndpointKind?: ApiEndpointKind;
  readonly apiServerPort: number;
  readonly vrrpRouterId?: number;
  readonly serviceCidr: string;
  readonly podCidr: string;
  readonly network: NetworkInput;
  readonly clusterDomain: string;
  readonly dns: ClusterDns;
  readonly imageRepository: string;
  readonly registries?: readonly RegistryInput[];
  readonly apiServerExtraSans?: readonly string[];
  readonly keyAlgorithm: KeyAlgorithm;
  readonly caValidityDays: number;
  readonly certValidityDays: number;
  readonly apiServerShutdownDelaySeconds: number;
  readonly binariesDir: string;
  readonly clusterDir?: string;
  readonly installPackages: boolean;
}

export interface InventoryInput {
  readonly cluster: ClusterInput;
  readonly ssh: SshInput;
  readonly hosts: readonly HostInput[];
}

/** Where each part of resolve reports what it finds wrong. */
export interface Report {
  error(path: PathSegment[], message: string): void;
  warn(path: PathSegment[], message: string): void;
}

export const collectProblems = (): Report & { readonly problems: FieldProblem[] } => {
  const problems: FieldProblem[] = [];
  return {
    problems,
    error: (path, message) => void problems.push({ severity: 'error', path, message }),
    warn: (path, message) => void problems.push({ severity: 'warning', path, message }),
  };
};

/** Paths in an inventory are relative to its folder; `~` is the user's home. */
export const expandPath = (p: string, baseDir: string): string =>
  p === '~' ? homedir() : p.startsWith('~/') ? resolvePath(homedir(), p.slice(2)) : isAbsolute(p) ? p : resolvePath(baseDir, p);
