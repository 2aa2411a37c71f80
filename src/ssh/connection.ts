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

/** Judges a presented host key; may record it (accept-new) before answering. */
export type HostKeyJudge = (target: ResolvedTarget, keyBlob: Buffer) => Promise<HostKeyDecision>;

export interface ConnectDeps {
  readonly auth: AuthSources;
  readonly judgeHostKey: HostKeyJudge;
  /** Key types to ask the server for first (those already recorded for it). */
  readonly preferredKeyTypes: (target: ResolvedTarget) => Promise<string[]>;
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

/** Recorded key types first, in the order OpenSSH would ask for them. RSA keys are signed with SHA-2. */
export const hostKeyAlgorithmOrder = (known: readonly string[]): HostKeyAlgorithm[] => {
  const isKnown = (alg: string): boolean => known.includes(alg.startsWith('rsa-sha2-') ? 'ssh-rsa' : alg);
  return [...HOST_KEY_ALGORITHMS.filter(isKnown), ...HOST_KEY_ALGORITHMS.filter((a) => !isKnown(a))];
};

export const backoffDelays = (policy: RetryPolicy): number[] =>
  Array.from({ length: Math.max(0, policy.attempts - 1) }, (_, i) => policy.baseDelayMs * 2 ** i);

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
  const serverHostKey = hostKeyAlgorithmOrder(await deps.preferredKeyTypes(target));
  const client = new ssh2.Client();
  client.setMaxListeners(0); // every step in flight watches for the connection closing
  let rejection: HostKeyError | undefined;
  const config: ConnectConfig = {
    host: target.hostname,
    port: target.port,
    username: target.user,
    sock,
    authHandler,
    readyTimeout: target.connectTimeoutMs,
    keepaliveInterval: 15_000,
    keepaliveCountMax: 4,
    algorithms: { serverHostKey },
    hostVerifier: (key: Buffer, verify: (valid: boolean) => void) => {
      deps.judgeHostKey(target, key).then(
        (decision) => {
          if (decision.action === 'reject') rejection = new HostKeyError(target.label, `${target.hostname}:${target.port}: ${decision.reason}`);
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
  await new Promise<void>((resolve, reject) => {
    client.once('ready', () => {
      conn.alive = true;
      resolve();
    });
    client.once('error', (err: Error & { level?: string; code?: string }) => {
      client.end();
      reject(rejection ?? classifyConnectError(target.label, address(target), err));
    });
    client.connect(config);
  });
  client.on('error', (err) => deps.log(`${target.label}: connection error: ${err.message}`));
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
        if (err instanceof ConnectError && attempt > 0) throw new ConnectError(target.label, `${err.message.replace(`${target.label}: `, '')} (after ${attempt + 1} attempts)`, false);
        throw err instanceof KubeinstallError ? err : classifyConnectError(target.label, address(target), err as Error);
      }
      deps.log(`${target.label}: ${(err as Error).message}; retrying in ${delays[attempt]} ms`);
      await sleep(delays[attempt]);
    }
  }
};

/** Settles with `work`, or fails as soon as the connection closes: some ssh2 operations (SFTP's
 * fastPut among them) never call back when the connection drops under them. */
export const whileAlive = <T>(conn: Connection, work: Promise<T>): Promise<T> => {
  if (!conn.alive) return Promise.reject(new Error('the connection is closed'));
  let onClose: (() => void) | undefined;
  const closed = new Promise<never>((_, reject) => {
    onClose = () => reject(new Error('the connection was lost'));
    conn.client.once('close', onClose);
  });
  return Promise.race([work, closed]).finally(() => conn.client.off('close', onClose!));
};
