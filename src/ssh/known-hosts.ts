// known_hosts as data: parse OpenSSH's format (plain and hashed names, `[host]:port`, wildcards,
// negation, @revoked) and decide whether a presented host key is known, unknown, changed or revoked.
import { createHash, createHmac } from 'node:crypto';

export interface KnownHostEntry {
  readonly file: string;
  readonly line: number;
  readonly marker?: 'cert-authority' | 'revoked';
  readonly patterns: readonly string[];
  readonly keyType: string;
  readonly key: string; // base64 blob
}

export type HostKeyStatus =
  | { readonly kind: 'known'; readonly entry: KnownHostEntry }
  | { readonly kind: 'unknown' }
  | { readonly kind: 'changed'; readonly previous: readonly KnownHostEntry[] }
  | { readonly kind: 'revoked'; readonly entry: KnownHostEntry };

/** The name known_hosts uses for a host: `host` on port 22, `[host]:port` otherwise, lower-cased as
 * OpenSSH writes and hashes it (so `FE80::1` finds the hashed entry of `fe80::1`). */
export const knownHostName = (host: string, port: number): string => {
  const name = host.toLowerCase();
  return port === 22 ? name : `[${name}]:${port}`;
};

/** OpenSSH's fingerprint of a key blob: `SHA256:` and unpadded base64. */
export const fingerprint = (keyBase64: string): string =>
  `SHA256:${createHash('sha256').update(Buffer.from(keyBase64, 'base64')).digest('base64').replace(/=+$/, '')}`;

/** The key type named inside an SSH public key blob (its first length-prefixed string). */
export const keyTypeOfBlob = (blob: Buffer): string => blob.subarray(4, 4 + blob.readUInt32BE(0)).toString('latin1');

export const parseKnownHosts = (text: string, file: string): KnownHostEntry[] =>
  text.split('\n').flatMap((raw, i) => {
    const fields = raw.trim().split(/\s+/);
    if (!fields[0] || fields[0].startsWith('#')) return [];
    const marker = fields[0] === '@cert-authority' ? 'cert-authority' : fields[0] === '@revoked' ? 'revoked' : undefined;
    const [hosts, keyType, key] = marker ? fields.slice(1) : fields;
    if (!hosts || !keyType || !key) return [];
    return [{ file, line: i + 1, marker, patterns: hosts.split(','), keyType, key }];
  });

const globToRegExp = (glob: string): RegExp =>
  new RegExp(
    `^${glob
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    'i',
  );

const hashedMatches = (pattern: string, name: string): boolean => {
  const [, magic, salt, hash] = pattern.split('|');
  if (magic !== '1' || !salt || !hash) return false;
  return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
};

const patternMatches = (pattern: string, name: string): boolean => (pattern.startsWith('|') ? hashedMatches(pattern, name) : globToRegExp(pattern).test(name));

/** OpenSSH semantics: one negated pattern that matches excludes the entry, whatever else matches. */
export const entryMatchesHost = (entry: KnownHostEntry, name: string): boolean => {
  let matched = false;
  for (const p of entry.patterns) {
    if (p.startsWith('!')) {
      if (patternMatches(p.slice(1), name)) return false;
    } else if (patternMatches(p, name)) matched = true;
  }
  return matched;
};

/** The keys recorded for a host. Host certificates (@cert-authority) are not offered by ssh2, so those
 * lines cannot vouch for a key. */
export const recordedFor = (entries: readonly KnownHostEntry[], host: string, port: number): KnownHostEntry[] => {
  const name = knownHostName(host, port);
  return entries.filter((e) => !e.marker && entryMatchesHost(e, name));
};

/** Any recorded key other than the one presented, of whatever type, makes it a changed key: a server
 * that suddenly offers only another key type is no less an impostor than one with a new key. */
export const hostKeyStatus = (entries: readonly KnownHostEntry[], host: string, port: number, key: string): HostKeyStatus => {
  const revoked = entries.find((e) => e.marker === 'revoked' && e.key === key);
  if (revoked) return { kind: 'revoked', entry: revoked };
  const recorded = recordedFor(entries, host, port);
  const same = recorded.find((e) => e.key === key);
  if (same) return { kind: 'known', entry: same };
  return recorded.length ? { kind: 'changed', previous: recorded } : { kind: 'unknown' };
};

/** Key types recorded for a host: the only ones the server is asked for (as ssh does with
 * HostKeyAlgorithms limited to them), so it must prove it holds one of those keys. */
export const knownKeyTypes = (entries: readonly KnownHostEntry[], host: string, port: number): string[] => [
  ...new Set(recordedFor(entries, host, port).map((e) => e.keyType)),
];

export const knownHostsLine = (host: string, port: number, keyType: string, key: string): string => `${knownHostName(host, port)} ${keyType} ${key}`;
