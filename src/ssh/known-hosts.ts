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

/** The name known_hosts uses for a host: `host` on port 22, `[host]:port` otherwise. */
export const knownHostName = (host: string, port: number): string => (port === 22 ? host : `[${host}]:${port}`);

/** OpenSSH's fingerprint of a key blob: `SHA256:` and unpadded base64. */
export const fingerprint = (keyBase64: string): string =>
  'SHA256:' + createHash('sha256').update(Buffer.from(keyBase64, 'base64')).digest('base64').replace(/=+$/, '');

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
  new RegExp('^' + glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$', 'i');

const hashedMatches = (pattern: string, name: string): boolean => {
  const [, magic, salt, hash] = pattern.split('|');
  if (magic !== '1' || !salt || !hash) return false;
  return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
};

const patternMatches = (pattern: string, name: string): boolean =>
  pattern.startsWith('|') ? hashedMatches(pattern, name) : globToRegExp(pattern).test(name);

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

export const hostKeyStatus = (entries: readonly KnownHostEntry[], host: string, port: number, keyType: string, key: string): HostKeyStatus => {
  const name = knownHostName(host, port);
  const revoked = entries.find((e) => e.marker === 'revoked' && e.key === key);
  if (revoked) return { kind: 'revoked', entry: revoked };
  // Host certificates (@cert-authority) are not offered by ssh2, so those lines cannot vouch for a key.
  const forHost = entries.filter((e) => !e.marker && entryMatchesHost(e, name));
  const same = forHost.find((e) => e.key === key);
  if (same) return { kind: 'known', entry: same };
  const sameType = forHost.filter((e) => e.keyType === keyType);
  return sameType.length ? { kind: 'changed', previous: sameType } : { kind: 'unknown' };
};

/** Key types already recorded for a host, to ask the server for one of those first (as OpenSSH does). */
export const knownKeyTypes = (entries: readonly KnownHostEntry[], host: string, port: number): string[] => {
  const name = knownHostName(host, port);
  return [...new Set(entries.filter((e) => !e.marker && entryMatchesHost(e, name)).map((e) => e.keyType))];
};

export const knownHostsLine = (host: string, port: number, keyType: string, key: string): string =>
  `${knownHostName(host, port)} ${keyType} ${key}`;
