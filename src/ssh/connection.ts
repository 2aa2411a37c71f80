// Opening one SSH connection: through its jump host when it has one, with the host key checked
// against known_hosts and the policy, retried with backoff only on network failures.
import ssh2, { type Client, type ConnectConfig } from 'ssh2';
import type { Duplex } from 'node:stream';
import { KubeinstallError } from '../util/errors.js';
import { authMethods, type AuthSources } from './auth.js';
import { classifyConnectError, ConnectError, HostKeyError } from './errors.js';
import type { HostKeyDecision } from './host-key.js';
import type { ResolvedTarget } from './target.js';

export interface Connection {
  readonly client: Client;
  readonly target: ResolvedTarget;
  alive: boolean;
}

/** Judges a presented host key, or (`undefined`) a server that offered none of the recorded key types. */
export type HostKeyJudge = (target: ResolvedTarget, keyBlob: Buffer | undefined) => Promise<HostKeyDecision>;

export interface ConnectDeps {
  readonly auth: AuthSources;
  readonly judgeHostKey: HostKeyJudge;
  /** Key types recorded for the target: the server is asked only for these (none recorded: any type). */
  readonly recordedKeyTypes: (target: ResolvedTarget) => Promise<string[]>;
  /** Records a key trusted on first use. Called once the connection is ready: the server has then signed
   * the key exchange with it, which the host key verifier runs before. */
  readonly recordHostKey: (target: ResolvedTarget, decision: Extract<HostKeyDecision, { action: 'record' }>) => Promise<void>;
  readonly log: (line: string) => void;
}

export interface RetryPolicy {
  readonly attempts: number;
  readonly baseDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 500 };

const HOST_KEY_ALGORITHMS = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
] as const;
type HostKeyAlgorithm = (typeof HOST_KEY_ALGORITHMS)[number];

/** Only the recorded key types when there are any (RSA keys signed with SHA-2), in the order OpenSSH
 * asks for them; every type otherwise. */
export const hostKeyAlgorithms = (recorded: readonly string[]): HostKeyAlgorithm[] => {
  const only = HOST_KEY_ALGORITHMS.filter((alg) => recorded.includes(alg.startsWith('rsa-sha2-') ? 'ssh-rsa' : alg));
  // A recorded type ssh2 cannot speak leaves nothing to ask for: ask for any, and the key is judged changed.
  return only.length ? only : [...HOST_KEY_ALGORITHMS];
};

/** ssh2's error when the server has none of the host key types asked for. */
const NO_COMMON_HOST_KEY_TYPE = /no matching host key format/;

export const backoffDelays = (policy: RetryPolicy): number[] => Array.from({ length: Math.max(0, policy.attempts - 1) }, (_, i) => policy.baseDelayMs * 2 ** i);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const address = (t: ResolvedTarget): string => `${t.hostname}:${t.port}${t.jump ? ` via ${t.jump.hostname}:${t.jump.port}` : ''}`;

const forwardThrough = (via: Connection, target: ResolvedTarget): Promise<Duplex> =>
  new Promise((resolve, reject) =>
    via.client.forwardOut('127.0.0.1', 0, target.hostname, target.port, (err, stream) =>
      err
        ? reject(new ConnectError(target.label, `the jump host ${via.target.hostname} could not reach ${target.hostname}:${target.port}: ${err.message}`, true))
        : resolve(stream),
    ),
  );

const connectOnce = async (target: ResolvedTarget, via: Connection | undefined, deps: ConnectDeps): Promise<Connection> => {
  const authHandler = await authMethods(target, deps.auth);
  const sock = via ? await forwardThrough(via, target) : undefined;
  const recorded = await deps.recordedKeyTypes(target);
  const client = new ssh2.Client();
  client.setMaxListeners(0); // every step in flight watches for the connection closing
  let rejection: HostKeyError | undefined;
  let toRecord: Extract<HostKeyDecision, { action: 'record' }> | undefined;
  const refuse = (reason: string): HostKeyError => new HostKeyError(target.label, `${target.hostname}:${target.port}: ${reason}`);
  const config: ConnectConfig = {
    host: target.hostname,
    port: target.port,
    username: target.user,
    sock,
    authHandler,
    readyTimeout: target.connectTimeoutMs,
    keepaliveInterval: 15_000,
    keepaliveCountMax: 4,
    algorithms: { serverHostKey: hostKeyAlgorithms(recorded) },
    hostVerifier: (key: Buffer, verify: (valid: boolean) => void) => {
      deps.judgeHostKey(target, key).then(
        (decision) => {
          if (decision.action === 'reject') rejection = refuse(decision.reason);
          if (decision.action === 'record') toRecord = decision;
          verify(decision.action !== 'reject');
        },
        (err: Error) => {
          rejection = new HostKeyError(target.label, `cannot check the host key of ${target.hostname}: ${err.message}`);
          verify(false);
        },
      );
    },
  };
  const conn: Connection = { client, target, alive: false };
  let ready = false;
  try {
    await new Promise<void>((resolve, reject) => {
      client.once('ready', () => {
        ready = conn.alive = true;
        resolve();
      });
      // Listening for the connection's whole life: a refused handshake can be followed by a socket error
      // (ECONNRESET), and an 'error' nobody listens for would crash the process.
      client.on('error', (err: Error) => {
        if (ready) return deps.log(`${target.label}: connection error: ${err.message}`);
        client.end();
        reject(rejection ?? err);
      });
      client.connect(config);
    });
    if (toRecord) await deps.recordHostKey(target, toRecord);
  } catch (err) {
    client.end();
    if (err instanceof HostKeyError) throw err;
    if (recorded.length && NO_COMMON_HOST_KEY_TYPE.test((err as Error).message)) {
      const decision = await deps.judgeHostKey(target, undefined);
      if (decision.action === 'reject') throw refuse(decision.reason);
    }
    throw err instanceof KubeinstallError ? err : classifyConnectError(target.label, address(target), err as Error);
  }
  deps.log(`${target.label}: connected to ${target.hostname}:${target.port} as ${target.user}`);
  client.on('close', () => {
    conn.alive = false;
  });
  return conn;
};

export const connectWithRetry = async (
  target: ResolvedTarget,
  via: () => Promise<Connection | undefined>,
  deps: ConnectDeps,
  retry: RetryPolicy,
): Promise<Connection> => {
  const delays = backoffDelays(retry);
  for (let attempt = 0; ; attempt++) {
    try {
      return await connectOnce(target, await via(), deps);
    } catch (err) {
      const retryable = err instanceof ConnectError && err.retryable && attempt < delays.length;
      if (!retryable) {
        if (err instanceof ConnectError && attempt > 0) throw new ConnectError(err.host, `${err.reason} (after ${attempt + 1} attempts)`, false);
        throw err instanceof KubeinstallError ? err : classifyConnectError(target.label, address(target), err as Error);
      }
      deps.log(`${target.label}: ${(err as Error).message}; retrying in ${delays[attempt]} ms`);
      await sleep(delays[attempt]);
    }
  }
};

/** Settles with `work`, or fails as soon as the connection closes: some ssh2 operations (SFTP's
 * among them) may never call back when the connection drops under them. */
export const whileAlive = <T>(conn: Connection, work: Promise<T>): Promise<T> => {
  if (!conn.alive) return Promise.reject(new Error('the connection is closed'));
  let onClose: (() => void) | undefined;
  const closed = new Promise<never>((_, reject) => {
    onClose = () => reject(new Error('the connection was lost'));
    conn.client.once('close', onClose);
  });
  return Promise.race([work, closed]).finally(() => conn.client.off('close', onClose!));
};
