// The SSH executor deploy runs every remote step through: one connection per host reused for every
// step, a bounded pool across hosts and a smaller one for uploads, host keys checked, secrets redacted.
import { readFile, appendFile, mkdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Host } from '../inventory/model.js';
import { KubeinstallError, UsageError } from '../util/errors.js';
import { promptOnTerminal } from './auth.js';
import type { SFTPWrapper } from 'ssh2';
import { runCommand, openSftp, putFile, renameOver, type RawResult } from './channel.js';
import { connectWithRetry, DEFAULT_RETRY, whileAlive, type Connection, type ConnectDeps, type RetryPolicy } from './connection.js';
import { ConnectError, RemoteCommandError, SshError, tail } from './errors.js';
import { decideHostKey, noRecordedKeyType } from './host-key.js';
import { hostKeyStatus, keyTypeOfBlob, knownKeyTypes, parseKnownHosts, recordedFor, type KnownHostEntry } from './known-hosts.js';
import { createRedactor, type Redactor } from './redact.js';
import { createSemaphore } from '../util/semaphore.js';
import { PROBE_PASSWORDLESS, sudoHint, wrapForSudo, type SudoMode } from './sudo.js';
import { noSshConfig, resolveHostTarget, sshConfigLookup, targetKey, type HostTarget, type ResolvedTarget, type SshConfigLookup } from './target.js';
import type { ExecEvent, ExecOptions, ExecResult, Executor, UploadItem, UploadReport } from './types.js';
import {
  besideTarget,
  freeSpaceCommand,
  installCommand,
  parseFreeSpace,
  parseRemoteState,
  parseStagingDir,
  planUploads,
  prepareCommand,
  remoteStateCommand,
  removeStagingCommand,
  removeTempFilesCommand,
  stagedPaths,
  stagingFor,
  validateItems,
} from './upload-plan.js';

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

/** The first file that could not be sent, and where it was being written. */
interface SendFailure {
  readonly item: UploadItem;
  readonly staged: string;
  readonly err: Error;
}

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
    recordedKeyTypes: async (t) => (checksOff(t) ? [] : knownKeyTypes(await entries(), t.hostname, t.port)),
    judgeHostKey: async (t, blob) => {
      if (!blob) return noRecordedKeyType(t.hostname, t.port, recordedFor(await entries(), t.hostname, t.port));
      const presented = { host: t.hostname, port: t.port, keyType: keyTypeOfBlob(blob), key: blob.toString('base64') };
      return decideHostKey(checksOff(t) ? 'off' : t.hostKeyPolicy, hostKeyStatus(await entries(), presented.host, presented.port, presented.key), presented, opts.clusterKnownHosts);
    },
    recordHostKey: async (t, decision) => {
      try {
        await record(decision.line);
      } catch (err) {
        throw new KubeinstallError(`${t.label}: cannot record the host key of ${t.hostname} in ${opts.clusterKnownHosts}: ${(err as Error).message}`);
      }
      const notice = `${t.label}: recorded the new host key ${decision.shown} of ${t.hostname}:${t.port} in ${opts.clusterKnownHosts}`;
      log(notice);
      warn(notice);
    },
  };

  const targets = new Map<string, Promise<HostTarget>>();
  const targetOf = (host: Host): Promise<HostTarget> => {
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

  const sudoModeFor = (host: Host, target: HostTarget, conn: Connection): Promise<SudoMode> => {
    if (!target.sudo) return Promise.resolve({ kind: 'none' });
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
  const run = async (host: Host, target: HostTarget, conn: Connection, command: string, o: ExecOptions): Promise<ExecResult> => {
    const started = Date.now();
    const shown = redactor.redact(command);
    const mode = o.sudo ? await sudoModeFor(host, target, conn) : ({ kind: 'none' } as const);
    const wrapped = wrapForSudo(mode, command, o.stdin);
    const raw = await runRaw(host, conn, o.step, wrapped.command, shown, wrapped.stdin, o.timeoutMs ?? opts.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS);
    const result = { code: raw.timedOut ? -1 : raw.code!, stdout: raw.stdout, stderr: raw.stderr, durationMs: Date.now() - started };
    if (result.code !== 0 && !o.allowFailure) {
      throw new RemoteCommandError(host.name, o.step, shown, result.code, redactor.redact(tail(raw.stderr)), mode.kind === 'none' ? undefined : sudoHint(raw.stderr));
    }
    return result;
  };

  const withConnection = async <T>(host: Host, task: (target: HostTarget, conn: Connection) => Promise<T>): Promise<T> => {
    const target = await targetOf(host);
    return task(target, await connectionTo(target));
  };

  /** Sends every file over the host's SFTP channel, up to 8 at once. After a failure no further file is
   * started, and the ones in flight are waited for, so nothing is written after the clean-up. */
  const sendFiles = async (
    conn: Connection,
    sftp: SFTPWrapper,
    send: readonly UploadItem[],
    staged: readonly string[],
    onBytes: (delta: number) => void,
  ): Promise<SendFailure | undefined> => {
    const files = createSemaphore(8);
    let failure: SendFailure | undefined;
    await Promise.all(
      send.map((item, i) =>
        files.run(async () => {
          if (failure) return;
          await whileAlive(conn, putFile(sftp, item.source, staged[i], onBytes)).catch((err: Error) => void (failure ??= { item, staged: staged[i], err }));
        }),
      ),
    );
    return failure;
  };

  /** Why a file could not be sent: SFTP only says "Failure", so a full file system is looked for. */
  const sendFailure = async (host: Host, target: HostTarget, conn: Connection, step: string, failed: SendFailure, stagingDir: string | undefined): Promise<Error> => {
    const what = `${step}: sending ${failed.item.path} failed: ${redactor.redact(failed.err.message)}`;
    if (!conn.alive) return new ConnectError(host.name, what, true);
    const dir = stagingDir ?? dirname(failed.staged);
    const check = { step: `${step}: free space`, sudo: !stagingDir, allowFailure: true, timeoutMs: 30_000 };
    const free = await run(host, target, conn, freeSpaceCommand(dir), check).then((r) => parseFreeSpace(r.stdout), () => undefined);
    if (free !== undefined && free < failed.item.size) return new SshError(host.name, `${what}: the file system of ${dir} on ${host.name} is full (${free} bytes free, ${failed.item.size} needed)`);
    return new ConnectError(host.name, what, true);
  };

  /** After a failed upload: no temporary file stays beside a target, and no staging folder in the home. */
  const cleanUp = async (host: Host, target: HostTarget, conn: Connection, step: string, send: readonly UploadItem[], stagingDir: string | undefined): Promise<void> => {
    if (!conn.alive) return; // a dropped connection: the next run overwrites the temporary files
    const o = { step: `${step}: clean up`, timeoutMs: 30_000 };
    try {
      if (stagingDir) await run(host, target, conn, removeStagingCommand(stagingDir), o);
      await run(host, target, conn, removeTempFilesCommand(send), { ...o, sudo: true });
    } catch (err) {
      log(`${host.name}: ${step}: clean up after the failure failed: ${(err as Error).message}`);
    }
  };

  const upload = async (host: Host, items: readonly UploadItem[], o: { readonly step: string; readonly onProgress?: (done: number, total: number) => void }): Promise<UploadReport> => {
    validateItems(host.name, items);
    if (!items.length) return { uploaded: [], skipped: [], bytes: 0 };
    return withConnection(host, async (target, conn) => {
      const privileged = { step: `${o.step}: compare`, sudo: true } as const;
      const state = parseRemoteState((await run(host, target, conn, remoteStateCommand(items.map((i) => i.path)), privileged)).stdout);
      const plan = planUploads(items, state);
      const total = plan.send.reduce((n, i) => n + i.size, 0);
      if (!plan.send.length && !plan.fix.length) return { uploaded: [], skipped: plan.skip.map((i) => i.path), bytes: 0 };
      const staging = stagingFor(target.sudo);
      let stagingDir: string | undefined;
      let sftp: SFTPWrapper | undefined;
      try {
        if (plan.send.length) {
          const prepared = await run(host, target, conn, prepareCommand(staging, plan.send), { step: `${o.step}: prepare`, sudo: staging === 'beside-target' });
          if (staging === 'home') stagingDir = parseStagingDir(host.name, prepared.stdout);
          const staged = stagedPaths(staging, plan.send, stagingDir);
          sftp = await whileAlive(conn, openSftp(conn.client));
          let done = 0;
          o.onProgress?.(0, total);
          const failed = await sendFiles(conn, sftp, plan.send, staged, (delta) => o.onProgress?.((done += delta), total));
          if (failed) throw await sendFailure(host, target, conn, o.step, failed, stagingDir);
        }
        await run(host, target, conn, installCommand(staging, plan, stagingDir), { step: `${o.step}: install`, sudo: true });
        if (sftp && staging === 'beside-target') {
          const s = sftp;
          await Promise.all(
            plan.send.map((item) =>
              whileAlive(conn, renameOver(s, besideTarget(item.path), item.path)).catch((err: Error) => {
                throw new ConnectError(host.name, `${o.step}: moving ${item.path} into place failed: ${redactor.redact(err.message)}`, true);
              }),
            ),
          );
        }
      } catch (err) {
        if (plan.send.length) await cleanUp(host, target, conn, o.step, plan.send, stagingDir);
        throw err;
      } finally {
        sftp?.end();
      }
      return { uploaded: [...plan.send, ...plan.fix].map((i) => i.path), skipped: plan.skip.map((i) => i.path), bytes: total };
    });
  };

  return {
    redactor,
    exec: (host, command, o) => pool.run(() => withConnection(host, (target, conn) => run(host, target, conn, command, o))),
    upload: (host, items, o) => pool.run(() => uploadPool.run(() => upload(host, items, o))),
    onExec: (listener) => void listeners.push(listener),
    close: async () => {
      const all = await Promise.allSettled([...connections.values()]);
      connections.clear();
      for (const c of all) if (c.status === 'fulfilled') c.value.client.end();
    },
  };
};
