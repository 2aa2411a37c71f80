// A streaming reader of tar archives (ustar, GNU and pax names): every regular file's name, size, sha256 and
// first bytes, and the bytes of the small ones (an image archive's JSON). One pass, constant memory beside those.
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';

export interface TarEntry {
  /** Without a leading `./`. */
  readonly name: string;
  readonly size: number;
  readonly sha256: string;
  /** The first bytes (compression magic). */
  readonly head: Buffer;
  /** The whole content, for entries up to `keepUpTo` bytes. */
  readonly data?: Buffer;
}

export class NotATar extends Error {}

const BLOCK = 512;
const HEAD_BYTES = 8;

const text = (b: Buffer, start: number, length: number): string => {
  const field = b.subarray(start, start + length);
  const end = field.indexOf(0);
  return field.subarray(0, end < 0 ? field.length : end).toString('utf8');
};

/** Octal, or GNU's base-256 for sizes of 8 GiB and more (high bit of the first byte set). */
const number = (b: Buffer, start: number, length: number): number => {
  const field = b.subarray(start, start + length);
  if (field[0]! & 0x80) return field.subarray(1).reduce((n, byte) => n * 256 + byte, field[0]! & 0x7f);
  const digits = text(b, start, length).trim();
  if (!/^[0-7]*$/.test(digits)) throw new NotATar(`a header field is not octal (${JSON.stringify(digits.slice(0, 12))})`);
  return digits ? parseInt(digits, 8) : 0;
};

/** The header checksum: the bytes summed with the checksum field itself counted as spaces. */
const checksumMatches = (h: Buffer): boolean => {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
  const stored = text(h, 148, 8).trim();
  return /^[0-7]+$/.test(stored) && sum === parseInt(stored, 8);
};

/** `len key=value\n` records of a pax extended header. */
const paxPath = (data: Buffer): string | undefined => {
  const m = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(data.toString('utf8'));
  return m?.[1];
};

const clean = (name: string): string => name.replace(/^(\.\/)+/, '');

interface Current {
  readonly name: string;
  readonly type: string;
  readonly size: number;
  remaining: number;
  readonly hash: Hash;
  head: Buffer;
  readonly chunks: Buffer[] | undefined;
}

/** The archive's entries and the sha256 of the whole file (so it is read once). */
export const readTarEntries = async (path: string, keepUpTo: number): Promise<{ entries: TarEntry[]; sha256: string }> => {
  const entries: TarEntry[] = [];
  const whole = createHash('sha256');
  let pending = Buffer.alloc(0);
  let current: Current | undefined;
  let skip = 0; // padding after an entry's data
  let nextName: string | undefined; // from a GNU long name or a pax header
  let ended = false;
  let headers = 0;

  const finish = (c: Current): void => {
    const data = c.chunks ? Buffer.concat(c.chunks) : undefined;
    if (c.type === 'L') nextName = data?.toString('utf8').replace(/\0.*$/s, '');
    else if (c.type === 'x') nextName = data ? paxPath(data) : undefined;
    else if (c.type === '0' || c.type === '\0' || c.type === '7') {
      entries.push({ name: c.name, size: c.size, sha256: c.hash.digest('hex'), head: c.head, ...(data ? { data } : {}) });
    }
  };

  const header = (h: Buffer): void => {
    if (h.every((b) => b === 0)) {
      ended = true;
      return;
    }
    if (!checksumMatches(h)) throw new NotATar(headers === 0 ? 'no tar header at its start' : `header ${headers + 1} is damaged`);
    headers++;
    const type = String.fromCharCode(h[156]!);
    const prefix = text(h, 257, 6) === 'ustar' ? text(h, 345, 155) : '';
    const name = clean(nextName ?? (prefix ? `${prefix}/${text(h, 0, 100)}` : text(h, 0, 100)));
    if (type !== 'L' && type !== 'x') nextName = undefined;
    const size = ['1', '2', '3', '4', '5', '6'].includes(type) ? 0 : number(h, 124, 12);
    const keep = type === 'L' || type === 'x' || size <= keepUpTo;
    current = { name, type, size, remaining: size, hash: createHash('sha256'), head: Buffer.alloc(0), chunks: keep ? [] : undefined };
    skip = (BLOCK - (size % BLOCK)) % BLOCK;
    if (size === 0) {
      finish(current);
      current = undefined;
    }
  };

  const consume = (chunk: Buffer): void => {
    let buf = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    pending = Buffer.alloc(0);
    while (buf.length && !ended) {
      if (current) {
        const take = Math.min(current.remaining, buf.length);
        const part = buf.subarray(0, take);
        current.hash.update(part);
        if (current.head.length < HEAD_BYTES) current.head = Buffer.concat([current.head, part.subarray(0, HEAD_BYTES - current.head.length)]);
        current.chunks?.push(Buffer.from(part));
        current.remaining -= take;
        buf = buf.subarray(take);
        if (current.remaining === 0) {
          finish(current);
          current = undefined;
        }
      } else if (skip) {
        const take = Math.min(skip, buf.length);
        skip -= take;
        buf = buf.subarray(take);
      } else if (buf.length >= BLOCK) {
        header(buf.subarray(0, BLOCK));
        buf = buf.subarray(BLOCK);
      } else {
        pending = Buffer.from(buf);
        return;
      }
    }
  };

  for await (const chunk of createReadStream(path)) {
    whole.update(chunk as Buffer);
    if (!ended) consume(chunk as Buffer);
  }
  if (!ended && (current || headers === 0 || pending.length))
    throw new NotATar(headers === 0 ? 'no tar header at its start' : 'it ends in the middle of a file');
  return { entries, sha256: whole.digest('hex') };
};
