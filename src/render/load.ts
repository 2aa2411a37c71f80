// The I/O edge of render: read the cluster folder's PKI files and kubeconfigs into ClusterFiles, and hash
// the binaries the inventory's roles need into a BinaryIndex. Everything else in src/render is pure.
//
// Hashing hundreds of MiB of binaries on every run costs a noticeable part of a no-change deploy, so
// the hashes are kept in a cache beside the cluster files, each with the file's identity (inode, size,
// mtime and ctime in ns): a binary whose identity still matches is not hashed again; any other is.
import { createHash } from 'node:crypto';
import { createReadStream, readdirSync, readFileSync, type Dirent } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { BigIntStats } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { ClusterModel, Host } from '../inventory/model.js';
import { KubeinstallError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import { requiredBinaries } from './binaries.js';
import type { BinaryIndex, ClusterFiles, LocalBinary } from './types.js';

/** The cluster folder's subfolders render reads (logs and other state stay out). */
const CLUSTER_SUBDIRS = ['pki', 'kubeconfigs'];

/**
 * Every file under `dir`, depth first. Synchronous, as the reads below: a cluster of thousands of hosts has
 * tens of thousands of small files here, and one descriptor at a time never meets the open-file limit.
 */
const filesUnder = (dir: string): string[] => {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new KubeinstallError(`cannot read ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return entries.flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : e.isFile() ? [join(dir, e.name)] : []));
};

/**
 * Every file under `<clusterDir>/pki` and `<clusterDir>/kubeconfigs`, keyed by its path relative to clusterDir
 * with `/`. Read synchronously: for small files that is several times less CPU than a round trip through
 * libuv's pool per file, and it holds one descriptor at a time at any size.
 */
export const readClusterFiles = (clusterDir: string): ClusterFiles =>
  new Map(CLUSTER_SUBDIRS.flatMap((d) => filesUnder(join(clusterDir, d))).map((p) => [relative(clusterDir, p).split(sep).join('/'), readFileSync(p)] as const));

export const hashFile = (path: string): Promise<string> =>
  new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });

/** Where deploy keeps the binaries' hashes between runs. */
export const binaryHashCache = (clusterDir: string): string => join(clusterDir, '.cache', 'binaries.json');

interface CachedHash {
  readonly identity: string;
  readonly sha256: string;
}
type HashCache = Record<string, CachedHash>;

/** Changes whenever the file's bytes may have: a rewrite or replacement moves the ctime, which no tool can set back. */
const identityOf = (info: BigIntStats): string => `${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}`;

const isCachedHash = (v: unknown): v is CachedHash =>
  typeof v === 'object' && v !== null && typeof (v as CachedHash).identity === 'string' && /^[0-9a-f]{64}$/.test((v as CachedHash).sha256);

/** A missing or unreadable cache is an empty one: it only saves work. */
const readHashCache = async (path: string | undefined): Promise<HashCache> => {
  if (!path) return {};
  try {
    const parsed: unknown = JSON.parse(await readFile(path, 'utf8'));
    if (typeof parsed !== 'object' || parsed === null) return {};
    return Object.fromEntries(Object.entries(parsed).filter(([, v]) => isCachedHash(v)));
  } catch {
    return {};
  }
};

/**
 * Hashes every binary some host's roles need; a missing or non-file binary is an error naming it and
 * its roles, unless `allowMissing` (then it is left out of the index). With `cacheFile`, hashes of
 * binaries unchanged since the last run come from there.
 */
export const indexBinaries = async (binariesDir: string, hosts: readonly Host[], cacheFile?: string, allowMissing = false): Promise<BinaryIndex> => {
  const needed = requiredBinaries(hosts);
  const cache = await readHashCache(cacheFile);
  const problems: string[] = [];
  const found: LocalBinary[] = [];
  const nextCache: HashCache = {};
  await Promise.all(
    [...needed].map(async ([name, roles]) => {
      const localPath = join(binariesDir, name);
      const info = await stat(localPath, { bigint: true }).catch(() => undefined);
      if (!info?.isFile()) {
        problems.push(`${name} (needed by role${roles.length > 1 ? 's' : ''} ${roles.join(', ')}) is missing from ${binariesDir}`);
        return;
      }
      const identity = identityOf(info);
      const cached = cache[localPath];
      const sha256 = cached?.identity === identity ? cached.sha256 : await hashFile(localPath);
      nextCache[localPath] = { identity, sha256 };
      found.push({ name, localPath, size: Number(info.size), sha256 });
    }),
  );
  if (problems.length > 0 && !allowMissing) throw new KubeinstallError(`binaries folder incomplete:\n  ${problems.sort().join('\n  ')}`);
  const sorted = Object.fromEntries(Object.entries(nextCache).sort(([a], [b]) => a.localeCompare(b)));
  if (cacheFile && JSON.stringify(sorted) !== JSON.stringify(cache)) await writeFileAtomic(cacheFile, `${JSON.stringify(sorted, null, 2)}\n`, { mode: 0o644 });
  return new Map(found.map((b) => [b.name, b]));
};

/** What `plan` and `deploy` both start from: the cluster folder's files and the hashed binaries
 * (`allowMissingBinaries`: those present, for a plan shown before the binaries are fetched). */
export const loadPlanInputs = async (
  model: Pick<ClusterModel, 'clusterDir' | 'binariesDir' | 'hosts'>,
  clusterDir: string = model.clusterDir,
  opts: { readonly allowMissingBinaries?: boolean } = {},
): Promise<{ clusterFiles: ClusterFiles; binaries: BinaryIndex }> => {
  const binaries = indexBinaries(model.binariesDir, model.hosts, binaryHashCache(clusterDir), opts.allowMissingBinaries);
  const clusterFiles = readClusterFiles(clusterDir);
  return { clusterFiles, binaries: await binaries };
};
