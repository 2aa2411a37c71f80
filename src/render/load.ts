// The I/O edge of render: read the cluster folder's PKI files and kubeconfigs into ClusterFiles, and hash
// the binaries the inventory's roles need into a BinaryIndex. Everything else in src/render is pure.
//
// Hashing hundreds of MiB of binaries on every run costs a noticeable part of a no-change deploy, so
// the hashes are kept in a cache beside the cluster files, each with the file's identity (inode, size,
// mtime and ctime in ns): a binary whose identity still matches is not hashed again; any other is.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { imageCacheFile, indexImages, type ImageIndex } from '../images/load.js';
import type { ClusterModel, Host, Registry, Role } from '../inventory/model.js';
import { podSubnetHosts } from '../network/pod-subnets.js';
import { cniBinary, CNI_PLUGINS } from './pod-network.js';
import { KubeinstallError, systemReason, UsageError } from '../util/errors.js';
import { identityOf, readCache, writeCache } from '../util/file-cache.js';
import { requiredBinaries } from './binaries.js';
import type { RegistryCredentials, RegistryInputs } from './registries.js';
import type { BinaryIndex, ClusterFiles, LocalBinary } from './types.js';

/** The cluster folder's subfolders render reads (logs and other state stay out). */
const CLUSTER_SUBDIRS = ['pki', 'kubeconfigs', 'network'];

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
  const entries = await Promise.all(paths.map(async (p) => [relative(clusterDir, p).split(sep).join('/'), await readFile(p)] as const));
  return new Map(entries);
};

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

const isCachedHash = (v: unknown): v is CachedHash =>
  typeof v === 'object' && v !== null && typeof (v as CachedHash).identity === 'string' && /^[0-9a-f]{64}$/.test((v as CachedHash).sha256);

/**
 * Hashes every binary some host's roles need; a missing or non-file binary is an error naming it and
 * its roles, unless `allowMissing` (then it is left out of the index). With `cacheFile`, hashes of
 * binaries unchanged since the last run come from there.
 */
export const indexBinaries = async (
  binariesDir: string,
  hosts: readonly Host[],
  cacheFile?: string,
  allowMissing = false,
  network?: ClusterModel['network'],
): Promise<BinaryIndex> => {
  const needed = new Map([...requiredBinaries(hosts), ...(await cniPluginsNeeded(binariesDir, hosts, network))]);
  const cache = await readCache(cacheFile, isCachedHash);
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
  await writeCache(cacheFile, cache, nextCache);
  return new Map(found.map((b) => [b.name, b]));
};

/**
 * cluster.registries' CA files and credentials (from the environment variables the inventory names). A CA that
 * cannot be read, or an unset variable, is an invalid input naming the field, unless `allowMissing` (a plan
 * shown without them: the registry's hosts.toml is then pending).
 */
export const loadRegistryInputs = async (
  registries: readonly Registry[],
  env: NodeJS.ProcessEnv = process.env,
  allowMissing = false,
): Promise<RegistryInputs> => {
  const cas = new Map<string, Buffer>();
  const credentials = new Map<string, RegistryCredentials>();
  for (const [i, r] of registries.entries()) {
    const at = `cluster.registries[${i}]`;
    if (r.caFile) {
      const ca = await readFile(r.caFile).catch((err: unknown) => {
        throw new UsageError(`${at}.caFile: cannot read ${r.caFile}: ${systemReason(err)}`);
      });
      if (!ca.toString('utf8').includes('-----BEGIN CERTIFICATE-----')) throw new UsageError(`${at}.caFile: ${r.caFile} holds no PEM certificate`);
      cas.set(r.host, ca);
    }
    if (!r.credentials) continue;
    const unset = (['usernameEnv', 'passwordEnv'] as const).filter((k) => !env[r.credentials![k]]);
    if (unset.length && allowMissing) continue;
    if (unset.length) {
      const k = unset[0]!;
      throw new UsageError(`${at}.${k}: the environment variable ${r.credentials[k]} is not set (credentials for the mirrors of ${r.host})`);
    }
    credentials.set(r.host, { username: env[r.credentials.usernameEnv]!, password: env[r.credentials.passwordEnv]! });
  }
  return { cas, credentials };
};

export interface PlanInputs {
  readonly clusterFiles: ClusterFiles;
  readonly binaries: BinaryIndex;
  readonly images: ImageIndex;
  readonly registries: RegistryInputs;
}

/** The bridge network's CNI plugins when the binaries folder has them (its bridge plugin says so); else the hosts' OS package serves. */
const cniPluginsNeeded = async (binariesDir: string, hosts: readonly Host[], network: ClusterModel['network'] | undefined): Promise<[string, Role[]][]> => {
  if (!network || !podSubnetHosts({ network, hosts }).length || !(await stat(join(binariesDir, cniBinary('bridge'))).catch(() => undefined))) return [];
  return CNI_PLUGINS.map((p) => [cniBinary(p), ['node']]);
};

/** What `plan` and `deploy` both start from: the cluster folder's files, the hashed binaries and image archives, the
 * registries' inputs (`allowMissing`: those present, for a plan shown before the binaries are fetched; `secretsOptional`:
 * registry credentials only if set, for commands that upload nothing). */
export const loadPlanInputs = async (
  model: Pick<ClusterModel, 'clusterDir' | 'binariesDir' | 'hosts' | 'registries' | 'network'>,
  clusterDir: string = model.clusterDir,
  opts: { readonly allowMissing?: boolean; readonly secretsOptional?: boolean } = {},
): Promise<PlanInputs> => {
  const [clusterFiles, binaries, images, registries] = await Promise.all([
    readClusterFiles(clusterDir),
    indexBinaries(model.binariesDir, model.hosts, binaryHashCache(clusterDir), opts.allowMissing, model.network),
    indexImages(model.binariesDir, imageCacheFile(clusterDir)),
    loadRegistryInputs(model.registries, process.env, opts.allowMissing || opts.secretsOptional),
  ]);
  return { clusterFiles, binaries, images, registries };
};
