// One connection per distinct target (`user@address:port` and route), opened on first use and shared by
// every step; each host's target is resolved once against ~/.ssh/config, and each hop admitted by the
// host key policy before anything is dialled.
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Host } from '../inventory/model.js';
import { connectWithRetry, type Connection, type ConnectDeps, type RetryPolicy } from './connection.js';
import { readIfExists } from './local-files.js';
import { noSshConfig, resolveHostTarget, sshConfigLookup, targetKey, type HostTarget, type ResolvedTarget, type SshConfigLookup } from './target.js';

export interface ConnectionCacheOptions {
  readonly deps: ConnectDeps;
  readonly retry: RetryPolicy;
  /** The ssh client config to honour; `null` for none. Default ~/.ssh/config. */
  readonly sshConfigFile?: string | null;
  /** Throws for a hop that may not be dialled (see KnownHostsStore.admit). */
  readonly admit: (hop: ResolvedTarget) => void;
}

/** Runs a task on the host's (shared) connection. */
export type WithConnection = <T>(host: Host, task: (target: HostTarget, conn: Connection) => Promise<T>) => Promise<T>;

const loadSshConfig = async (file: string | null | undefined): Promise<SshConfigLookup> => {
  const path = file === undefined ? join(homedir(), '.ssh', 'config') : file;
  const text = path ? await readIfExists(path) : '';
  return text ? sshConfigLookup(text) : noSshConfig;
};

const chain = (t: ResolvedTarget): ResolvedTarget[] => (t.jump ? [...chain(t.jump), t] : [t]);

export const createConnectionCache = (o: ConnectionCacheOptions): { withConnection: WithConnection; close(): Promise<void> } => {
  const connections = new Map<string, Promise<Connection>>();
  const targets = new Map<string, Promise<HostTarget>>();
  let sshConfig: Promise<SshConfigLookup> | undefined;

  const targetOf = (host: Host): Promise<HostTarget> => {
    let t = targets.get(host.name);
    if (!t) {
      t = (async () => {
        const resolved = resolveHostTarget(host, await (sshConfig ??= loadSshConfig(o.sshConfigFile)));
        for (const hop of chain(resolved)) o.admit(hop);
        return resolved;
      })();
      targets.set(host.name, t);
    }
    return t;
  };

  const connectionTo = (target: ResolvedTarget): Promise<Connection> => {
    const key = targetKey(target);
    const cached = connections.get(key);
    const fresh = (): Promise<Connection> => {
      const p = connectWithRetry(target, async () => (target.jump ? connectionTo(target.jump) : undefined), o.deps, o.retry);
      connections.set(key, p);
      p.catch(() => connections.get(key) === p && connections.delete(key));
      return p;
    };
    if (!cached) return fresh();
    // A dropped connection is opened again for the next step, once however many steps notice.
    const reopen = (): Promise<Connection> => (connections.get(key) === cached ? fresh() : connectionTo(target));
    return cached.then((c) => (c.alive ? c : reopen()), reopen);
  };

  return {
    withConnection: async (host, task) => {
      const target = await targetOf(host);
      return task(target, await connectionTo(target));
    },
    close: async () => {
      const all = await Promise.allSettled([...connections.values()]);
      connections.clear();
      for (const c of all) if (c.status === 'fulfilled') c.value.client.end();
    },
  };
};
