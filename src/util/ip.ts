// IPv4/IPv6 addresses and CIDRs as bigints: parsing, containment, overlap and nth address.
import { isIP } from 'node:net';

export interface ParsedCidr {
  readonly family: 4 | 6;
  readonly base: bigint; // network address (host bits cleared)
  readonly prefix: number;
}

const bitsOf = (family: 4 | 6): number => (family === 4 ? 32 : 128);

export const isIpAddress = (text: string): boolean => isIP(text) !== 0;

export const ipFamily = (text: string): 4 | 6 | undefined => {
  const f = isIP(text);
  return f === 4 || f === 6 ? f : undefined;
};

const HOSTNAME_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** RFC 1123 host name (lower case, dot-separated labels, at most 253 characters). A name whose last
 * label is all digits is refused: it is a mistyped IPv4 address (10.0.0.300), not a name. */
export const isHostname = (text: string): boolean => {
  const labels = text.split('.');
  return text.length > 0 && text.length <= 253 && labels.every((l) => HOSTNAME_LABEL.test(l)) && !/^\d+$/.test(labels.at(-1)!);
};

export const ipToBigInt = (text: string): bigint => {
  const family = ipFamily(text);
  if (family === 4) return text.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
  if (family === 6) {
    let t = text;
    // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hextets.
    const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(t);
    if (v4) {
      const n = ipToBigInt(v4[1]!);
      t = `${t.slice(0, -v4[1]!.length)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
    }
    const [head, tail] = t.includes('::') ? t.split('::') : [t, undefined];
    const headParts = head ? head.split(':') : [];
    const tailParts = tail ? tail.split(':') : [];
    const fill = tail === undefined ? [] : Array(8 - headParts.length - tailParts.length).fill('0');
    return [...headParts, ...fill, ...tailParts].reduce((acc, h) => (acc << 16n) | BigInt(parseInt(h, 16)), 0n);
  }
  throw new Error(`not an IP address: ${text}`);
};

export const bigIntToIp = (value: bigint, family: 4 | 6): string => {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => ((value >> s) & 0xffn).toString()).join('.');
  const hextets = Array.from({ length: 8 }, (_, i) => ((value >> BigInt((7 - i) * 16)) & 0xffffn).toString(16));
  // Compress the longest run of zero hextets (RFC 5952).
  let best = { start: -1, len: 0 };
  for (let i = 0; i < 8; ) {
    if (hextets[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && hextets[j] === '0') j++;
    if (j - i > best.len && j - i > 1) best = { start: i, len: j - i };
    i = j;
  }
  if (best.start < 0) return hextets.join(':');
  return `${hextets.slice(0, best.start).join(':')}::${hextets.slice(best.start + best.len).join(':')}`;
};

/** Whether two texts name the same address, however each is spelled (fd00:0:0:1::1 = fd00:0:0:1:0:0:0:1). */
export const sameIp = (a: string, b: string): boolean => {
  const family = ipFamily(a);
  return family !== undefined && family === ipFamily(b) ? ipToBigInt(a) === ipToBigInt(b) : a === b;
};

/** Parses `addr/prefix`; returns an error message instead of throwing. */
export const parseCidr = (text: string): ParsedCidr | string => {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text.trim());
  if (!m) return `"${text}" is not a CIDR (expected address/prefix, e.g. 10.96.0.0/12)`;
  const family = ipFamily(m[1]!);
  if (!family) return `"${m[1]}" in "${text}" is not an IP address`;
  const prefix = Number(m[2]);
  if (prefix > bitsOf(family)) return `prefix /${prefix} in "${text}" is larger than /${bitsOf(family)}`;
  const hostBits = BigInt(bitsOf(family) - prefix);
  const addr = ipToBigInt(m[1]!);
  const base = (addr >> hostBits) << hostBits;
  if (base !== addr) return `"${text}" has host bits set (did you mean ${bigIntToIp(base, family)}/${prefix}?)`;
  return { family, base, prefix };
};

export const cidrText = (c: ParsedCidr): string => `${bigIntToIp(c.base, c.family)}/${c.prefix}`;

const sizeOf = (c: ParsedCidr): bigint => 1n << BigInt(bitsOf(c.family) - c.prefix);

export const cidrContains = (c: ParsedCidr, ip: string): boolean =>
  ipFamily(ip) === c.family && ipToBigInt(ip) >= c.base && ipToBigInt(ip) < c.base + sizeOf(c);

export const cidrsOverlap = (a: ParsedCidr, b: ParsedCidr): boolean => a.family === b.family && a.base < b.base + sizeOf(b) && b.base < a.base + sizeOf(a);

/** The nth address of a CIDR (1 = first usable), or undefined when the CIDR is too small. */
export const nthAddress = (c: ParsedCidr, n: number): string | undefined => (BigInt(n) < sizeOf(c) ? bigIntToIp(c.base + BigInt(n), c.family) : undefined);

/** `host:port` for URLs, with IPv6 bracketed. */
export const hostPort = (host: string, port: number): string => `${ipFamily(host) === 6 ? `[${host}]` : host}:${port}`;
