// Errors from remote hosts: each names the host, and for commands the step, the command (redacted)
// and the tail of its stderr. Which failures are worth another connection attempt is decided here.
import { KubeinstallError } from '../util/errors.js';

export class SshError extends KubeinstallError {
  constructor(
    readonly host: string,
    /** What went wrong, without the host: callers that add context build on this, not on the message. */
    readonly reason: string,
  ) {
    super(`${host}: ${reason}`);
  }
}

/** An unknown, changed or revoked host key: never retried. */
export class HostKeyError extends SshError {}

/** The server refused every credential offered: never retried. */
export class AuthError extends SshError {}

/** The connection could not be made or was lost (refused, reset, timed out). */
export class ConnectError extends SshError {
  constructor(
    host: string,
    message: string,
    readonly retryable: boolean,
  ) {
    super(host, message);
  }
}

export class RemoteCommandError extends SshError {
  constructor(
    host: string,
    readonly step: string,
    readonly command: string,
    readonly code: number,
    readonly stderrTail: string,
    hint?: string,
  ) {
    super(
      host,
      `${step} failed (${code < 0 ? 'timed out' : `exit ${code}`}): ${command}` +
        (stderrTail ? `\n${stderrTail.replace(/^/gm, '  | ')}` : '') +
        (hint ? `\n  hint: ${hint}` : ''),
    );
  }
}

export const STDERR_TAIL_LINES = 15;

export const tail = (text: string, lines = STDERR_TAIL_LINES): string => text.trimEnd().split('\n').slice(-lines).join('\n');

const RETRYABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'EAI_AGAIN']);

/** Turns an ssh2 or socket error into one of ours. `address` is what was dialled. */
export const classifyConnectError = (host: string, address: string, err: Error & { code?: string; level?: string }): SshError => {
  if (err instanceof SshError) return err;
  if (err.level === 'client-authentication') {
    return new AuthError(host, `authentication to ${address} failed: the server accepted none of the credentials offered (key file, agent, password)`);
  }
  if (err.level === 'client-timeout' || err.code === 'ETIMEDOUT') {
    return new ConnectError(host, `connecting to ${address} timed out`, true);
  }
  if (err.code === 'ECONNREFUSED') return new ConnectError(host, `connection to ${address} refused: is sshd running and listening there?`, true);
  if (err.code && RETRYABLE_CODES.has(err.code)) return new ConnectError(host, `connection to ${address} failed: ${err.code}`, true);
  if (err.code === 'ENOTFOUND') return new ConnectError(host, `cannot resolve ${address}`, false);
  return new ConnectError(host, `connection to ${address} failed: ${err.message}`, /reset|closed|ended|timed out/i.test(err.message));
};
