import { describe, expect, it } from 'vitest';
import { decideHostKey, noRecordedKeyType } from './host-key.js';
import { fingerprint, parseKnownHosts } from './known-hosts.js';

const ED = 'AAAAC3NzaC1lZDI1NTE5AAAAIJnghb+/gHwQFJN6yIddTfPRU+HKlYtGbHWdlztJJdQ0';
const OLD = 'AAAAC3NzaC1lZDI1NTE5AAAAIOg6zcnv1bc3lwkKXDuZkbG3iLzPVDEyv7mS/mk5j9W7';
const presented = { host: '10.0.0.5', port: 2222, keyType: 'ssh-ed25519', key: ED };
const [oldEntry] = parseKnownHosts(`[10.0.0.5]:2222 ssh-ed25519 ${OLD}`, '/c/known_hosts');

describe('host key policy', () => {
  it('strict refuses an unknown key, naming its fingerprint and the line that would trust it', () => {
    const d = decideHostKey('strict', { kind: 'unknown' }, presented, '/c/known_hosts');
    expect(d.action).toBe('reject');
    if (d.action !== 'reject') return;
    expect(d.reason).toContain(`ssh-ed25519 ${fingerprint(ED)}`);
    expect(d.reason).toContain(`/c/known_hosts:\n  [10.0.0.5]:2222 ssh-ed25519 ${ED}`);
    expect(d.reason).toContain('/etc/ssh/ssh_host_ed25519_key.pub');
  });

  it('accept-new records an unknown key but still refuses a changed one', () => {
    expect(decideHostKey('accept-new', { kind: 'unknown' }, presented, 'kh')).toEqual({
      action: 'record',
      line: `[10.0.0.5]:2222 ssh-ed25519 ${ED}`,
      shown: `ssh-ed25519 ${fingerprint(ED)}`,
    });
    const changed = decideHostKey('accept-new', { kind: 'changed', previous: [oldEntry] }, presented, 'kh');
    expect(changed).toMatchObject({ action: 'reject' });
    expect(changed.action === 'reject' && changed.reason).toContain(`${fingerprint(OLD)} (/c/known_hosts:1)`);
  });

  it('calls a server that has none of the recorded key types a changed key', () => {
    const d = noRecordedKeyType('10.0.0.5', 2222, [oldEntry]);
    expect(d.action === 'reject' && d.reason).toMatch(
      /^HOST KEY CHANGED: \[10\.0\.0\.5\]:2222 offers no key of the recorded type \(ssh-ed25519\), but ssh-ed25519 SHA256:\S+ \(\/c\/known_hosts:1\)/,
    );
  });

  it('accepts known keys, and anything when checks are off', () => {
    expect(decideHostKey('strict', { kind: 'known', entry: oldEntry }, presented, 'kh')).toEqual({ action: 'accept' });
    expect(decideHostKey('off', { kind: 'changed', previous: [oldEntry] }, presented, 'kh')).toEqual({ action: 'accept' });
  });

  it('refuses a revoked key under every checking policy', () => {
    for (const policy of ['strict', 'accept-new'] as const) {
      expect(decideHostKey(policy, { kind: 'revoked', entry: oldEntry }, presented, 'kh').action).toBe('reject');
    }
  });
});
