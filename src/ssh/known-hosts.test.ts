import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { fingerprint, hostKeyStatus, keyTypeOfBlob, knownHostName, knownKeyTypes, parseKnownHosts } from './known-hosts.js';

const ED = 'AAAAC3NzaC1lZDI1NTE5AAAAIJnghb+/gHwQFJN6yIddTfPRU+HKlYtGbHWdlztJJdQ0';
const ED2 = 'AAAAC3NzaC1lZDI1NTE5AAAAIOg6zcnv1bc3lwkKXDuZkbG3iLzPVDEyv7mS/mk5j9W7';
const hashed = (name: string): string => {
  const salt = Buffer.from('0123456789abcdefghij');
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
};

describe('known_hosts', () => {
  it('names non-standard ports in brackets', () => {
    expect(knownHostName('10.0.0.1', 22)).toBe('10.0.0.1');
    expect(knownHostName('10.0.0.1', 2222)).toBe('[10.0.0.1]:2222');
  });

  it('computes OpenSSH fingerprints and reads the key type from the blob', () => {
    // what `ssh-keygen -lf` prints for this key
    expect(fingerprint(ED)).toBe('SHA256:KqWbFxsht5EICOYIAl4iFoZVV/UwPxTNrClP1ToNyfw');
    expect(keyTypeOfBlob(Buffer.from(ED, 'base64'))).toBe('ssh-ed25519');
  });

  it('parses plain, hashed, bracketed, wildcard, negated and marked lines, skipping comments', () => {
    const entries = parseKnownHosts(
      [
        `# comment`,
        `node1,10.0.0.1 ssh-ed25519 ${ED} me@laptop`,
        `${hashed('[10.0.0.2]:2222')} ssh-ed25519 ${ED}`,
        `@revoked * ssh-ed25519 ${ED2}`,
        '',
        'broken line',
      ].join('\n'),
      'kh',
    );
    expect(entries.map((e) => [e.line, e.marker, e.patterns.length])).toEqual([
      [2, undefined, 2],
      [3, undefined, 1],
      [4, 'revoked', 1],
    ]);
  });

  it('tells known, unknown, changed and revoked keys apart', () => {
    const entries = parseKnownHosts(
      [
        `10.0.0.1 ssh-ed25519 ${ED}`,
        `${hashed('[10.0.0.2]:2222')} ssh-ed25519 ${ED}`,
        `10.0.0.* ecdsa-sha2-nistp256 AAAA`,
        `*.lab,!bad.lab ssh-ed25519 ${ED}`,
      ].join('\n'),
      'kh',
    );
    expect(hostKeyStatus(entries, '10.0.0.1', 22, ED).kind).toBe('known');
    expect(hostKeyStatus(entries, '10.0.0.2', 2222, ED).kind).toBe('known');
    // the hashed [10.0.0.2]:2222 entry is not for port 22; only the wildcard ECDSA one is
    expect(hostKeyStatus(entries, '10.0.0.2', 22, ED)).toMatchObject({ kind: 'changed', previous: [{ line: 3 }] });
    expect(hostKeyStatus(entries, '10.0.1.2', 22, ED).kind).toBe('unknown');
    expect(hostKeyStatus(entries, '10.0.0.1', 22, ED2)).toMatchObject({ kind: 'changed', previous: [{ line: 1 }, { line: 3 }] });
    // a key of another type is recorded: a change all the same (the server must prove it holds that key)
    expect(hostKeyStatus(entries, '10.0.0.9', 22, ED2)).toMatchObject({ kind: 'changed', previous: [{ line: 3, keyType: 'ecdsa-sha2-nistp256' }] });
    expect(hostKeyStatus(entries, 'web.lab', 22, ED).kind).toBe('known');
    expect(hostKeyStatus(entries, 'bad.lab', 22, ED).kind).toBe('unknown');
    const revoked = parseKnownHosts(`10.0.0.1 ssh-ed25519 ${ED}\n@revoked * ssh-ed25519 ${ED}`, 'kh');
    expect(hostKeyStatus(revoked, '10.0.0.1', 22, ED).kind).toBe('revoked');
  });

  it('matches a hashed entry with the name lower-cased, as OpenSSH hashes it', () => {
    const entries = parseKnownHosts(`${hashed('fe80::1')} ssh-ed25519 ${ED}\n${hashed('[web.lab]:2222')} ssh-ed25519 ${ED}`, 'kh');
    expect(hostKeyStatus(entries, 'FE80::1', 22, ED).kind).toBe('known');
    expect(hostKeyStatus(entries, 'Web.LAB', 2222, ED).kind).toBe('known');
    expect(knownHostName('FE80::1', 2222)).toBe('[fe80::1]:2222');
  });

  it('lists the key types recorded for a host', () => {
    const entries = parseKnownHosts(`h ssh-rsa AAAA\nh ssh-ed25519 ${ED}\nother ecdsa-sha2-nistp256 AAAA`, 'kh');
    expect(knownKeyTypes(entries, 'h', 22)).toEqual(['ssh-rsa', 'ssh-ed25519']);
  });
});
