// The SSH executor deploy runs every remote step through: one connection per host reused for every
// step, a bounded pool across hosts and a smaller one for uploads, host keys checked, secrets redacted.
// Its parts live beside it: the connection cache, the known_hosts store, the sudo probe and the uploader.
import { homedir } from 'node:os';
import type { Writable } from 'node:stream';
import { join } from 'node:path';
import type { Host } from '../inventory/model.js';
import { promptOnTerminal } from './auth.js';
import { runCommand, type RawResult } from './channel.js';
import { DEFAULT_RETRY, whileAlive, type Connection, type ConnectDeps, type RetryPolicy } from './connection.js';
import { createConnectionCache } from './connection-cache.js';
import { ConnectError, RemoteCommandError, tail } from './errors.js';
import { createKnownHostsStore } from './known-hosts-store.js';
import { createRedactor, type Redactor } from './redact.js';
import { createSemaphore } from '../util/semaphore.js';
import { sudoHint, wrapForSudo } from './sudo.js';
import { createSudoProbe } from './sudo-probe.js';
import type { HostTarget } from './target.js';
import { DEFAULT_CONCURRENCY, type ExecEvent, type ExecOptions, type ExecResult, type Executor } from './types.js';
import { createUploader } from './uploader.js';

export interface ExecutorOptions {
  /** Read-only known_hosts files. Default: ~/.ssh/known_hosts and /etc/ssh/ssh_known_hosts. */
  readonly knownHostsFiles?: readonly string[];
  /** kubeinstall's own known_hosts in the cluster folder: read, and where accept-new records keys. */
  readonly clusterKnownHosts: string;
  /** Operations in flight across hosts. Default DEFAULT_CONCURRENCY. */
  readonly concurrency?: number;
  /** Hosts receiving uploads at once. Default 10: each holds at most 4 MiB of writes in flight (uploader.ts), and
   * a host's upload is mostly its own round trips and its sshd's work, which more hosts at once overlap. */
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

export const createExecutor = (opts: ExecutorOptions): SshExecutor => {
  const redactor = createRedactor();
  const log = (line: string): void => opts.log?.(redactor.redact(line));
  const warn = opts.warn ?? ((m: string) => void process.stderr.write(`warning: ${m}\n`));
  const env = opts.env ?? process.env;
  const pool = createSemaphore(opts.concurrency ?? DEFAULT_CONCURRENCY);
  const uploadPool = createSemaphore(opts.uploadConcurrency ?? 10);
  const listeners: ((e: ExecEvent) => void)[] = [];
  const knownHosts = createKnownHostsStore({
    files: opts.knownHostsFiles ?? [join(homedir(), '.ssh', 'known_hosts'), '/etc/ssh/ssh_known_hosts'],
    clusterFile: opts.clusterKnownHosts,
    insecureSkipHostKeyCheck: opts.insecureSkipHostKeyCheck === true,
    log,
    warn,
  });
  const deps: ConnectDeps = {
    auth: { env, redactor, promptPassphrase: process.stdin.isTTY ? promptOnTerminal : undefined, keys: new Map() },
    log,
    recordedKeyTypes: knownHosts.recordedKeyTypes,
    judgeHostKey: knownHosts.judgeHostKey,
    recordHostKey: knownHosts.recordHostKey,
  };

  const cache = createConnectionCache({ deps, retry: opts.retry ?? DEFAULT_RETRY, sshConfigFile: opts.sshConfigFile, admit: knownHosts.admit });

  const runRaw = async (
    host: Host,
    conn: Connection,
    step: string,
    command: string,
    shown: string,
    stdin: string | Buffer | undefined,
    timeoutMs: number,
    sink?: Writable,
  ): Promise<RawResult> => {
    const started = Date.now();
    log(`${host.name}: ${step}: $ ${shown}`);
    let raw: RawResult;
    try {
      raw = await whileAlive(conn, runCommand(conn.client, command, stdin, timeoutMs, sink));
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

  const sudoModeFor = createSudoProbe(env, redactor, (host, conn, probe) => runRaw(host, conn, 'check sudo', probe, probe, undefined, 30_000));

  /** Runs a command (privileged when asked and configured) and turns a failure into an error. */
  const run = async (host: Host, target: HostTarget, conn: Connection, command: string, o: ExecOptions, sink?: Writable): Promise<ExecResult> => {
    const started = Date.now();
    const shown = redactor.redact(command);
    const mode = o.sudo ? await sudoModeFor(host, target, conn) : ({ kind: 'none' } as const);
    const wrapped = wrapForSudo(mode, command, o.stdin);
    const raw = await runRaw(
      host,
      conn,
      o.step,
      wrapped.command,
      shown,
      wrapped.stdin,
      o.timeoutMs ?? opts.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
      sink,
    );
    const result = { code: raw.timedOut ? -1 : raw.code!, stdout: raw.stdout, stderr: raw.stderr, durationMs: Date.now() - started };
    if (result.code !== 0 && !o.allowFailure) {
      throw new RemoteCommandError(
        host.name,
        o.step,
        shown,
        result.code,
        redactor.redact(tail(raw.stderr)),
        mode.kind === 'none' ? undefined : sudoHint(raw.stderr),
      );
    }
    return result;
  };
  const upload = createUploader(run, cache.withConnection, redactor, log);

  return {
    redactor,
    exec: (host, command, o) => pool.run(() => cache.withConnection(host, (target, conn) => run(host, target, conn, command, o))),
    upload: (host, items, o) => pool.run(() => uploadPool.run(() => upload(host, items, o))),
    execToSink: (host, command, sink, o) => pool.run(() => cache.withConnection(host, (target, conn) => run(host, target, conn, command, o, sink))),
    onExec: (listener) => void listeners.push(listener),
    close: cache.close,
  };
};
