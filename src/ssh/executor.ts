// The SSH executor deploy runs every remote step through: one connection per host reused for every
// step, a bounded pool across hosts and a smaller one for uploads, host keys checked, secrets redacted.
import { readFile, appendFile, mkdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Host } from '../inventory/model.js';
import { UsageError } from '../util/errors.js';
import { promptOnTerminal } from './auth.js';
import { runCommand, openSftp, putFile, realpath, renameOver, type RawResult } from './channel.js';
import { connectWithRetry, DEFAULT_RETRY, whileAlive, type Connection, type ConnectDeps, type RetryPolicy } from './connection.js';
import { ConnectError, RemoteCommandError, tail } from './errors.js';
import { decideHostKey } from './host-key.js';
import { hostKeyStatus, keyTypeOfBlob, knownKeyTypes, parseKnownHosts, type KnownHostEntry } from './known-hosts.js';
import { createRedactor, type Redactor } from './redact.js';
import { createSemaphore } from '../util/semaphore.js';
import { PROBE_PASSWORDLESS, sudoHint, wrapForSudo, type SudoMode } from './sudo.js';
import { noSshConfig, resolveHostTarget, sshConfigLookup, targetKey, type ResolvedTarget, type SshConfigLookup } from './target.js';
import type { ExecEvent, ExecOptions, ExecResult, Executor, UploadItem, UploadReport } from './types.js';
import { installCommand, parseRemoteState, planUploads, prepareCommand, remoteStateCommand, stagedPaths, stagingFor, validateItems } from './upload-plan.js';

export interface ExecutorOptions {
  /** Read-only known_hosts files. Default: ~/.ssh/known_hosts and /etc/ssh/ssh_known_hosts. */
  readonly knownHostsFiles?: readonly string[];
  /** kubeinstall's own known_hosts in the cluster folder: read, and where accept-new records keys. */
  readonly clusterKnownHosts: string;
  /** Hosts worked on at once (sshd's MaxStartups drops handshakes past about 10). Default 10. */
  readonly concurrency?: number;
  /** Hosts receiving uploads at once. Default 5. */
  readonly uploadConcurrency?: number;
  /** The explicit flag that turns host key checking off (and allows `hostKeyPolicy: off`). */
  readonly insecureSkipHostKeyCheck?: boolean;
  /** Every log line, already redacted. */
  readonly log?: (line: string) => void;
  /** Warnings the user must see on every run (default: stderr). */
  readonly warn?: (message: string) => void;
  /** The ssh client config to honour; `null` for none. Default ~/.ssh/config. */
  readonly sshConfigFile?: string | null;
  /** Where `*Env` settings are read. Default process.env. */
  readonly env?: NodeJS.ProcessEnv;
  readonly retry?: RetryPolicy;
  /** Default timeout of one remote command. */
  readonly commandTimeoutMs?: number;
}

export interface SshExecutor extends Executor {
  /** The redaction every log line and error passes through; add secrets the caller knows of. */
  readonly redactor: Redactor;
}

const DEFAULT_COMMAND_TIMEOUT_MS = 10 * 60_000;

const readIfExists = async (file: string): Promise<string> => {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
};

const loadSshConfig = async (file: string | null | undefined): Promise<SshConfigLookup> => {
  const path = file === undefined ? join(homedir(), '.ssh', 'config') : file;
  const text = path ? await readIfExists(path) : '';
  return text ? sshConfigLookup(text) : noSshConfig;
};

const chain = (t: ResolvedTarget): ResolvedTarget[] => (t.jump ? [...chain(t.jump), t] : [t]);

export const createExecutor = (opts: ExecutorOptions): SshExecutor => {
  const redactor = createRedactor();
  const log = (line: string): void => opts.log?.(redactor.redact(line));
  const warn = opts.warn ?? ((m: string) => void process.stderr.write(`warning: ${m}\n`));
  const env = opts.env ?? process.env;
  const retry = opts.retry ?? DEFAULT_RETRY;
  const pool = createSemaphore(opts.concurrency ?? 10);
  const uploadPool = createSemaphore(opts.uploadConcurrency ?? 5);
  const listeners: ((e: ExecEvent) => void)[] = [];
  const connections = new Map<string, Promise<Connection>>();
  const sudoModes = new WeakMap<Connection, Promise<SudoMode>>();
  const warnedUnchecked = new Set<string>();

  let sshConfig: Promise<SshConfigLookup> | undefined;
  let knownEntries: Promise<KnownHostEntry[]> | undefined;
  const entries = (): Promise<KnownHostEntry[]> =>
    (knownEntries ??= Promise.all(
      [...(opts.knownHostsFiles ?? [join(homedir(), '.ssh', 'known_hosts'), '/etc/ssh/ssh_known_hosts']), opts.clusterKnownHosts].map(async (f) =>
        parseKnownHosts(await readIfExists(f), f),
      ),
    ).then((lists) => lists.flat()));
  let recording = Promise.resolve();
  const record = (line: string): Promise<void> =>
    (recording = recording.then(async () => {
      await mkdir(dirname(opts.clusterKnownHosts), { recursive: true });
      await appendFile(opts.clusterKnownHosts, line + '\n', { mode: 0o644 });
      (await entries()).push(...parseKnownHosts(line, opts.clusterKnownHosts));
    }));

  const checksOff = (t: ResolvedTarget): boolean => opts.insecureSkipHostKeyCheck === true || t.hostKeyPolicy === 'off';

  const deps: ConnectDeps = {
    auth: { env, redactor, promptPassphrase: process.stdin.isTTY ? promptOnTerminal : undefined, keys: new Map() },
    log,
    preferredKeyTypes: async (t) => knownKeyTypes(await entries(), t.hostname, t.port),
    judgeHostKey: async (t, blob) => {
      const presented = { host: t.hostname, port: t.port, keyType: keyTypeOfBlob(blob), key: blob.toString('base64') };
      const decision = decideHostKey(
        checksOff(t) ? 'off' : t.hostKeyPolicy,
        hostKeyStatus(await entries(), presented.host, presented.port, presented.keyType, presented.key),
        presented,
        opts.clusterKnownHosts,
      );
      if (decision.action === 'record') {
        await record(decision.line);
        log(`${t.label}: recorded the new host key of ${t.hostname}:${t.port} in ${opts.clusterKnownHosts}`);
      }
      return decision;
    },
  };

  const targets = new Map<string, Promise<ResolvedTarget>>();
  const targetOf = (host: Host): Promise<ResolvedTarget> => {
    let t = targets.get(host.name);
    if (!t) {
      t = (async () => {
        const resolved = resolveHostTarget(host, await (sshConfig ??= loadSshConfig(opts.sshConfigFile)));
        for (const hop of chain(resolved)) {
          if (hop.hostKeyPolicy === 'off' && !opts.insecureSkipHostKeyCheck) {
            throw new UsageError(`${hop.label}: hostKeyPolicy "off" needs the explicit --insecure-skip-host-key-check flag`);
          }
          if (checksOff(hop) && !warnedUnchecked.has(hop.hostname)) {
            warnedUnchecked.add(hop.hostname);
            warn(`${hop.label}: the host key of ${hop.hostname} is NOT checked; anyone on the network path can impersonate it`);
          }
        }
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
      const p = connectWithRetry(target, async () => (target.jump ? connectionTo(target.jump) : undefined), deps, retry);
      connections.set(key, p);
      p.catch(() => connections.get(key) === p && connections.delete(key));
      return p;
    };
    if (!cached) return fresh();
    // A dropped connection is opened again for the next step, once however many steps notice.
    const reopen = (): Promise<Connection> => (connections.get(key) === cached ? fresh() : connectionTo(target));
    return cached.then((c) => (c.alive ? c : reopen()), reopen);
  };

  const runRaw = async (host: Host, conn: Connection, step: string, command: string, shown: string, stdin: string | Buffer | undefined, timeoutMs: number): Promise<RawResult> => {
    const started = Date.now();
    log(`${host.name}: ${step}: $ ${shown}`);
    let raw: RawResult;
    try {
      raw = await whileAlive(conn, runCommand(conn.client, command, stdin, timeoutMs));
    } catch (err) {
      throw new ConnectError(host.name, `${step}: ${shown}: ${redactor.redact((err as Error).message)}`, true);
    }
    const code = raw.code ?? -1;
    const durationMs = Date.now() - started;
    log(`${host.name}: ${step}: exit ${raw.timedOut ? 'timeout' : code} in ${durationMs} ms`);
    for (const l of listeners) l({ host: host.name, step, command: shown, code, durationMs });
    if (raw.code === undefined && !raw.timedOut) throw new ConnectError(host.name, `${step}: the connection was lost while running: ${shown}`, true);
    return raw;
  };

  const sudoModeFor = (host: Host, conn: Connection): Promise<SudoMode> => {
    if (!host.ssh.sudo) return Promise.resolve({ kind: 'none' });
    let mode = sudoModes.get(conn);
    if (!mode) {
      mode = (async (): Promise<SudoMode> => {
        const probe = await runRaw(host, conn, 'check sudo', PROBE_PASSWORDLESS, PROBE_PASSWORDLESS, undefined, 30_000);
        if (probe.code === 0 || !host.ssh.sudoPasswordEnv) return { kind: 'passwordless' };
        const password = env[host.ssh.sudoPasswordEnv];
        if (!password) throw new UsageError(`${host.name}: the sudo password is read from $${host.ssh.sudoPasswordEnv}, which is not set`);
        redactor.add(password);
        return { kind: 'password', password };
      })();
      sudoModes.set(conn, mode);
    }
    return mode;
  };

  /** Runs a command (privileged when asked and configured) and turns a failure into an error. */
  const run = async (host: Host, conn: Connection, command: string, o: ExecOptions): Promise<ExecResult> => {
    const started = Date.now();
    const shown = redactor.redact(command);
    const mode = o.sudo ? await sudoModeFor(host, conn) : ({ kind: 'none' } as const);
    const wrapped = wrapForSudo(mode, command, o.stdin);
    const raw = await runRaw(host, conn, o.step, wrapped.command, shown, wrapped.stdin, o.timeoutMs ?? opts.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS);
    const result = { code: raw.timedOut ? -1 : raw.code!, stdout: raw.stdout, stderr: raw.stderr, durationMs: Date.now() - started };
    if (result.code !== 0 && !o.allowFailure) {
      throw new RemoteCommandError(host.name, o.step, shown, result.code, redactor.redact(tail(raw.stderr)), mode.kind === 'none' ? undefined : sudoHint(raw.stderr));
    }
    return result;
  };

  const withConnection = async <T>(host: Host, task: (conn: Connection) => Promise<T>): Promise<T> => task(await connectionTo(await targetOf(host)));

  const upload = async (host: Host, items: readonly UploadItem[], o: { readonly step: string; readonly onProgress?: (done: number, total: number) => void }): Promise<UploadReport> => {
    validateItems(host.name, items);
    if (!items.length) return { uploaded: [], skipped: [], bytes: 0 };
    return withConnection(host, async (conn) => {
      const privileged = { step: `${o.step}: compare`, sudo: true } as const;
      const state = parseRemoteState((await run(host, conn, remoteStateCommand(items.map((i) => i.path)), privileged)).stdout);
      const plan = planUploads(items, state);
      const total = plan.send.reduce((n, i) => n + i.size, 0);
      if (!plan.send.length && !plan.fix.length) return { uploaded: [], skipped: plan.skip.map((i) => i.path), bytes: 0 };
      const staging = stagingFor(host);
      const staged = stagedPaths(staging, plan.send);
      const lost = (what: string) => (err: Error) => {
        throw new ConnectError(host.name, `${o.step}: ${what} failed: ${redactor.redact(err.message)}`, true);
      };
      let home = '';
      if (plan.send.length) {
        await run(host, conn, prepareCommand(staging, plan.send), { step: `${o.step}: prepare`, sudo: staging === 'beside-target' });
      }
      const sftp = plan.send.length ? await whileAlive(conn, openSftp(conn.client)) : undefined;
      try {
        if (sftp) {
          if (staging === 'home') home = await whileAlive(conn, realpath(sftp, '.'));
          let done = 0;
          o.onProgress?.(0, total);
          const files = createSemaphore(8);
          await Promise.all(
            plan.send.map((item, i) =>
              files.run(() => whileAlive(conn, putFile(sftp, item.source, staged[i], (delta) => o.onProgress?.((done += delta), total))).catch(lost(`sending ${item.path}`))),
            ),
          );
        }
        await run(host, conn, installCommand(staging, plan, home), { step: `${o.step}: install`, sudo: true });
        if (sftp && staging === 'beside-target') {
          await Promise.all(plan.send.map((item, i) => whileAlive(conn, renameOver(sftp, staged[i], item.path)).catch(lost(`moving ${item.path} into place`))));
        }
      } finally {
        sftp?.end();
      }
      return { uploaded: [...plan.send, ...plan.fix].map((i) => i.path), skipped: plan.skip.map((i) => i.path), bytes: total };
    });
  };

  return {
    redactor,
    exec: (host, command, o) => pool.run(() => withConnection(host, (conn) => run(host, conn, command, o))),
    upload: (host, items, o) => pool.run(() => uploadPool.run(() => upload(host, items, o))),
    onExec: (listener) => void listeners.push(listener),
    close: async () => {
      const all = await Promise.allSettled([...connections.values()]);
      connections.clear();
      for (const c of all) if (c.status === 'fulfilled') c.value.client.end();
    },
  };
};
