// The host key policy: what to do with a key given what the known_hosts files say about it.
import type { HostKeyPolicy } from '../inventory/model.js';
import { fingerprint, knownHostName, knownHostsLine, type HostKeyStatus } from './known-hosts.js';

export type HostKeyDecision =
  | { readonly action: 'accept' }
  | { readonly action: 'record'; readonly line: string }
  | { readonly action: 'reject'; readonly reason: string };

export interface PresentedKey {
  readonly host: string; // the address dialled
  readonly port: number;
  readonly keyType: string;
  readonly key: string; // base64
}

export const decideHostKey = (
  policy: HostKeyPolicy,
  status: HostKeyStatus,
  presented: PresentedKey,
  clusterKnownHosts: string,
): HostKeyDecision => {
  const { host, port, keyType, key } = presented;
  const shown = `${keyType} ${fingerprint(key)}`;
  const line = knownHostsLine(host, port, keyType, key);
  if (policy === 'off') return { action: 'accept' };
  switch (status.kind) {
    case 'known':
      return { action: 'accept' };
    case 'revoked':
      return { action: 'reject', reason: `host key ${shown} is marked @revoked in ${status.entry.file}:${status.entry.line}` };
    case 'changed': {
      const before = status.previous.map((e) => `${e.keyType} ${fingerprint(e.key)} (${e.file}:${e.line})`).join(', ');
      return {
        action: 'reject',
        reason:
          `HOST KEY CHANGED: ${knownHostName(host, port)} now presents ${shown}, but ${before} is recorded. ` +
          `This may be an attack, or the host was reinstalled. If you know why it changed, remove the old entry ` +
          `(ssh-keygen -R '${knownHostName(host, port)}' -f <file>) and run again.`,
      };
    }
    case 'unknown':
      if (policy === 'accept-new') return { action: 'record', line };
      return {
        action: 'reject',
        reason:
          `unknown host key ${shown}. Check it on the host (ssh-keygen -lf /etc/ssh/ssh_host_${keyType.replace(/^ssh-|-.*$/g, '')}_key.pub); ` +
          `to trust it, add this line to ${clusterKnownHosts}:\n  ${line}\n` +
          `or set ssh.hostKeyPolicy: accept-new to record keys on first contact.`,
      };
  }
};
