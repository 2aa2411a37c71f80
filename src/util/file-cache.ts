// Caches of what was computed from local files (hashes, archive indexes), keyed by path and valid while the
// file's identity holds: re-reading hundreds of MiB on every run costs a noticeable part of a no-change deploy.
import { readFile } from 'node:fs/promises';
import type { BigIntStats } from 'node:fs';
import { writeFileAtomic } from './fs.js';

/** Changes whenever the file's bytes may have: a rewrite or replacement moves the ctime, which no tool can set back. */
export const identityOf = (info: BigIntStats): string => `${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}`;

/** A missing or unreadable cache is an empty one: it only saves work. Entries `valid` rejects are left out. */
export const readCache = async <T>(path: string | undefined, valid: (v: unknown) => v is T): Promise<Record<string, T>> => {
  if (!path) return {};
  try {
    const parsed: unknown = JSON.parse(await readFile(path, 'utf8'));
    if (typeof parsed !== 'object' || parsed === null) return {};
    return Object.fromEntries(Object.entries(parsed).filter(([, v]) => valid(v)));
  } catch {
    return {};
  }
};

/** Writes the cache when it differs from what was read, keys sorted so the file only changes with its content. */
export const writeCache = async (path: string | undefined, before: object, next: Readonly<Record<string, unknown>>): Promise<void> => {
  const sorted = Object.fromEntries(Object.entries(next).sort(([a], [b]) => a.localeCompare(b)));
  if (path && JSON.stringify(sorted) !== JSON.stringify(before)) await writeFileAtomic(path, `${JSON.stringify(sorted, null, 2)}\n`, { mode: 0o644 });
};
