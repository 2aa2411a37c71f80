// The I/O edge of render: read the cluster folder's PKI files and kubeconfigs into ClusterFiles, and hash
// the binaries the inventory's roles need into a BinaryIndex. Everything else in src/render is pure.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { Host } from '../inventory/model.js';
import { KubeinstallError } from '../util/errors.js';
import { requiredBinaries } from './binaries.js';
import type { BinaryIndex, ClusterFiles, LocalBinary } from './types.js';

/** The cluster folder's subfolders render reads (logs and other state stay out). */
const CLUSTER_SUBDIRS = ['pki', 'kubeconfigs'];

const filesUnder = async (dir: string): Promise<string[]> => {
  const entries = await readdir(dir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw new KubeinstallError(`cannot read ${dir}: ${err.code ?? err.message}`);
  });
  const nested = await Promise.all(
    entries.map((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : Promise.resolve(e.isFile() ? [join(dir, e.name)] : []))),
  );
  return nested.flat();
};

/** Every file under `<clusterDir>/pki` and `<clusterDir>/kubeconfigs`, keyed by its path relative to clusterDir with `/`. */
export const readClusterFiles = async (clusterDir: string): Promise<ClusterFiles> => {
  const paths = (await Promise.all(CLUSTER_SUBDIRS.map((d) => filesUnder(join(clusterDir, d))))).flat();
  const entries = await Promise.all(
    paths.map(async (p) => [relative(clusterDir, p).split(sep).join('/'), await readFile(p)] as const),
  );
  return new Map(entries);
};

const hashFile = (path: string): Promise<string> =>
  new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });

/** Hashes every binary some host's roles need; a missing or non-file binary is an error naming it and its roles. */
export const indexBinaries = async (binariesDir: string, hosts: readonly Host[]): Promise<BinaryIndex> => {
  const needed = requiredBinaries(hosts);
  const problems: string[] = [];
  const found: LocalBinary[] = [];
  await Promise.all(
    [...needed].map(async ([name, roles]) => {
      const localPath = join(binariesDir, name);
      const info = await stat(localPath).catch(() => undefined);
      if (!info?.isFile()) {
        problems.push(`${name} (needed by role${roles.length > 1 ? 's' : ''} ${roles.join(', ')}) is missing from ${binariesDir}`);
        return;
      }
      found.push({ name, localPath, size: info.size, sha256: await hashFile(localPath) });
    }),
  );
  if (problems.length > 0) throw new KubeinstallError(`binaries folder incomplete:\n  ${problems.sort().join('\n  ')}`);
  return new Map(found.map((b) => [b.name, b]));
};
