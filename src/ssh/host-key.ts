// The host key policy: what to do with a key given what the known_hosts files say about it.
import type { HostKeyPolicy } from '../inventory/model.js';
import { fingerprint, knownHostName, knownHostsLine, type HostKeyStatus, type KnownHostEntry } from './known-hosts.js';

export type HostKeyDecision =
  | { readonly action: 'accept' }
  /** Trusted on first use: `line` is recorded once the server has proven it holds the key. */
  | { readonly action: 'record'; readonly line: string; readonly shown: string }
  | { readonly action: 'reject'; readonly reason: string };

export interface PresentedKey {
  readonly host: string; // the address dialled
  readonly port: number;
  readonly keyType: string;
  readonly key: string; // base64
}

/** `ssh-ed25519 SHA256:…`, as ssh shows a key. */
export const showKey = (keyType: string, key: string): string => `${keyType} ${fingerprint(key)}`;

const changed = (host: string, port: number, now: string, previous: readonly KnownHostEntry[]): HostKeyDecision => {
  const name = knownHostName(host, port);
  const before = previous.map((e) => `${showKey(e.keyType, e.key)} (${e.file}:${e.line})`).join(', ');
  return {
    action: 'reject',
    reason:
      `HOST KEY CHANGED: ${name} ${now}, but ${before} is recorded. ` +
      `This may be an attack, or the host was reinstalled. If you know why it changed, remove the old entry ` +
      `(ssh-keygen -R '${name}' -f <file>) and run again.`,
  };
};

/** The server was asked only for the recorded key types and has none of them: a changed key too. */
export const noRecordedKeyType = (host: string, port: number, previous: readonly KnownHostEntry[]): HostKeyDecision =>
  changed(host, port, `offers no key of the recorded type (${[...new Set(previous.map((e) => e.keyType))].join(', ')})`, previous);

export const decideHostKey = (policy: HostKeyPolicy, status: HostKeyStatus, presented: PresentedKey, clusterKnownHosts: string): HostKeyDecision => {
  const { host, port, keyType, key } = presented;
  const shown = showKey(keyType, key);
  const line = knownHostsLine(host, port, keyType, key);
  if (policy === 'off') return { action: 'accept' };
  switch (status.kind) {
    case 'known':
      return { action: 'accept' };
    case 'revoked':
      return { action: 'reject', reason: `host key ${shown} is marked @revoked in ${status.entry.file}:${status.entry.line}` };
    case 'changed':
      return changed(host, port, `now presents ${shown}`, status.previous);
    case 'unknown':
      if (policy === 'accept-new') return { action: 'record', line, shown };
      return {
        action: 'reject',
        reason:
          `unknown host key ${shown}. Check it on the host (ssh-keygen -lf /etc/ssh/ssh_host_${keyType.replace(/^ssh-|-.*$/g, '')}_key.pub); ` +
          `to trust it, add this line to ${clusterKnownHosts}:\n  ${line}\n` +
          `or set ssh.hostKeyPolicy: accept-new to record keys on first contact.`,
      };
  }
};
