// Where and as whom to connect: the inventory's ssh settings merged with ~/.ssh/config (HostName,
// User, Port, IdentityFile, ProxyJump). Explicit inventory values win; ~/.ssh/config fills in what
// the inventory left at its defaults (user root, port 22, no key, no bastion).
import SSHConfig from 'ssh-config';
import type { Host, HostKeyPolicy, SshTarget } from '../inventory/model.js';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';

export interface ResolvedTarget {
  /** The inventory host (or bastion) name, for messages. */
  readonly label: string;
  /** What is dialled. */
  readonly hostname: string;
  readonly port: number;
  readonly user: string;
  readonly identityFiles: readonly string[];
  readonly passphraseEnv?: string;
  readonly useAgent: boolean;
  readonly passwordEnv?: string;
  readonly password?: string;
  readonly hostKeyPolicy: HostKeyPolicy;
  readonly connectTimeoutMs: number;
  /** The hop this target is reached through, if any. */
  readonly jump?: ResolvedTarget;
}

type Computed = Record<string, string | string[]>;
export type SshConfigLookup = (alias: string) => Computed;

export const noSshConfig: SshConfigLookup = () => ({});

export const sshConfigLookup = (text: string): SshConfigLookup => {
  const config = SSHConfig.parse(text);
  return (alias) => config.compute(alias);
};

const first = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);
const all = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

const expandHome = (path: string, home: string): string =>
  path.startsWith('~/') ? join(home, path.slice(2)) : isAbsolute(path) ? path : join(home, '.ssh', path);

/** `[user@]host[:port]` (IPv6 in brackets), one hop of a ProxyJump list. */
export const parseJumpSpec = (spec: string): { user?: string; host: string; port?: number } => {
  const at = spec.lastIndexOf('@');
  const user = at >= 0 ? spec.slice(0, at) : undefined;
  const rest = at >= 0 ? spec.slice(at + 1) : spec;
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(rest) ?? /^([^:]+)(?::(\d+))?$/.exec(rest);
  if (!m) return { user, host: rest };
  return { user, host: m[1], port: m[2] ? Number(m[2]) : undefined };
};

const DEFAULT_USER = 'root';
const DEFAULT_PORT = 22;

export const resolveTarget = (
  label: string,
  address: string,
  target: SshTarget,
  bastion: (SshTarget & { readonly address: string }) | undefined,
  lookup: SshConfigLookup,
  home: string = homedir(),
): ResolvedTarget => {
  const conf = lookup(address);
  const confPort = first(conf.Port) ?? first(conf.port);
  const user = target.user !== DEFAULT_USER ? target.user : (first(conf.User) ?? target.user);
  const port = target.port !== DEFAULT_PORT ? target.port : confPort ? Number(confPort) : target.port;
  const identityFiles = target.identityFile ? [target.identityFile] : all(conf.IdentityFile).map((f) => expandHome(f, home));
  const proxyJump = first(conf.ProxyJump);
  const jump = bastion
    ? resolveTarget(`${label}'s bastion ${bastion.address}`, bastion.address, bastion, undefined, lookup, home)
    : proxyJump && proxyJump !== 'none'
      ? resolveJumpChain(label, proxyJump.split(','), target, lookup, home)
      : undefined;
  return {
    label,
    hostname: first(conf.HostName) ?? address,
    port,
    user,
    identityFiles,
    passphraseEnv: target.passphraseEnv,
    useAgent: target.useAgent,
    passwordEnv: target.passwordEnv,
    password: target.password,
    hostKeyPolicy: target.hostKeyPolicy,
    connectTimeoutMs: target.connectTimeoutSeconds * 1000,
    jump,
  };
};

/** ProxyJump `a,b`: a is dialled first, b through a, the target through b. Each hop is looked up in
 * ~/.ssh/config itself and otherwise borrows the target's credentials and host key policy. */
const resolveJumpChain = (label: string, hops: string[], target: SshTarget, lookup: SshConfigLookup, home: string): ResolvedTarget | undefined => {
  const last = hops.at(-1);
  if (!last) return undefined;
  const spec = parseJumpSpec(last.trim());
  const hopConf = lookup(spec.host);
  const hopTarget: SshTarget = {
    ...target,
    user: spec.user ?? first(hopConf.User) ?? target.user,
    port: spec.port ?? DEFAULT_PORT,
    identityFile: first(hopConf.IdentityFile) ? expandHome(first(hopConf.IdentityFile)!, home) : target.identityFile,
    password: undefined,
    passwordEnv: undefined,
  };
  const resolved = resolveTarget(
    `${label}'s jump host ${spec.host}`,
    spec.host,
    hopTarget,
    undefined,
    (alias) => {
      const c = lookup(alias);
      return hops.length > 1 ? { ...c, ProxyJump: hops.slice(0, -1).join(',') } : { ...c, ProxyJump: 'none' };
    },
    home,
  );
  return resolved;
};

/** A cluster host's target: also whether its privileged steps go through sudo. */
export interface HostTarget extends ResolvedTarget {
  readonly sudo: boolean;
}

/** The inventory decided sudo from its own user (non-root: sudo). When ~/.ssh/config logs in as someone
 * else, that user decides instead, so root's "no sudo" does not carry over to a plain user. */
export const sudoFor = (inventory: { readonly user: string; readonly sudo: boolean }, loginUser: string): boolean =>
  loginUser === inventory.user ? inventory.sudo : loginUser !== 'root';

export const resolveHostTarget = (host: Host, lookup: SshConfigLookup, home?: string): HostTarget => {
  const target = resolveTarget(host.name, host.address, host.ssh, host.ssh.bastion, lookup, home);
  return { ...target, sudo: sudoFor(host.ssh, target.user) };
};

/** One connection per distinct (user, address, port, route). */
export const targetKey = (t: ResolvedTarget): string => `${t.user}@${t.hostname}:${t.port}${t.jump ? ` via ${targetKey(t.jump)}` : ''}`;
