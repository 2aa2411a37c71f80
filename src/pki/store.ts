// The cluster folder on disk: read what exists, write only what changed, as one set. Nothing else in the
// PKI touches the disk.
import { chmod, lstat, mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { KubeinstallError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import { mapLimit } from '../util/semaphore.js';
import { parseKubeconfig } from '../kubeconfig/kubeconfig.js';
import { parsePrivateKey } from './keys.js';
import { SERVICE_ACCOUNT_FILES, type CertInstance, type PkiPlan } from './specs.js';
import { parseCertificate, type CertInfo } from './x509.js';

/** Enough for the disk, few enough to stay far from the open-file limit. */
export const IO_CONCURRENCY = 64;

export const readIfExists = async (path: string): Promise<Buffer | undefined> => {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
};

/** A certificate and key as found on disk, each parsed or with the reason it could not be. */
export interface Material {
  /** Where it was read from, relative to the cluster folder. */
  readonly source: string;
  readonly certPem?: string;
  readonly keyPem?: string;
  readonly cert?: CertInfo;
  readonly key?: KeyObject;
  /** Why the certificate is unusable (absent, truncated, not PEM…); undefined when it parsed. */
  readonly certError?: string;
}

const parseMaterial = (source: string, certPem: string | undefined, keyPem: string | undefined): Material => {
  if (certPem === undefined) return { source, keyPem, key: keyPem ? parsePrivateKey(keyPem) : undefined, certError: 'missing' };
  let cert: CertInfo | undefined;
  let certError: string | undefined;
  try {
    cert = parseCertificate(certPem);
  } catch {
    certError = 'not a readable PEM certificate (truncated or corrupt)';
  }
  return { source, certPem, keyPem, cert, certError, key: keyPem ? parsePrivateKey(keyPem) : undefined };
};

/** Reads each certificate of the plan: from its own files, or from the kubeconfig that embeds it. */
export const readMaterial = async (dir: string, plan: PkiPlan): Promise<Map<string, Material>> => {
  const embeddedIn = new Map(plan.kubeconfigs.map((k) => [k.certId, k.file]));
  const read = async (c: CertInstance): Promise<[string, Material]> => {
    if (c.files) {
      const [crt, key] = await Promise.all([readIfExists(join(dir, c.files.crt)), readIfExists(join(dir, c.files.key))]);
      return [c.id, parseMaterial(c.files.crt, crt?.toString(), key?.toString())];
    }
    const file = embeddedIn.get(c.id)!;
    const text = await readIfExists(join(dir, file));
    if (!text) return [c.id, parseMaterial(file, undefined, undefined)];
    try {
      const k = parseKubeconfig(text.toString());
      return [c.id, parseMaterial(file, k.certPem, k.keyPem)];
    } catch (err) {
      return [c.id, { source: file, certError: `unreadable kubeconfig: ${(err as Error).message}` }];
    }
  };
  return new Map(await mapLimit(plan.certs, IO_CONCURRENCY, read));
};

export const readServiceAccount = async (dir: string): Promise<{ key?: KeyObject; pub?: string }> => {
  const [key, pub] = await Promise.all([readIfExists(join(dir, SERVICE_ACCOUNT_FILES.key)), readIfExists(join(dir, SERVICE_ACCOUNT_FILES.pub))]);
  return { key: key ? parsePrivateKey(key) : undefined, pub: pub?.toString() };
};

export interface OutputFile {
  /** Relative to the cluster folder. */
  readonly path: string;
  readonly data: string;
  readonly mode: number;
}

export const CERT_MODE = 0o644;
export const SECRET_MODE = 0o600;
export const DIR_MODE = 0o700;

/** Folders whose owner and mode `certs` checks before it reads or writes anything ('' is the cluster folder). */
const GUARDED_FOLDERS = ['', 'pki', 'kubeconfigs', 'network'] as const;

/** A folder someone else can write to lets them swap a CA or read keys as they appear: refuse it. */
export const unsafeFolderProblems = async (dir: string): Promise<string[]> => {
  const uid = process.getuid?.();
  const problems = await Promise.all(
    GUARDED_FOLDERS.map(async (sub) => {
      const path = join(dir, sub);
      const info = await lstat(path).catch(() => undefined);
      if (!info) return undefined;
      if (!info.isDirectory()) return `${path} is not a folder`;
      if (uid !== undefined && info.uid !== uid)
        return `${path} is owned by uid ${info.uid}, not by you (uid ${uid}): \`chown ${uid} ${path}\` or use another folder`;
      const mode = info.mode & 0o777;
      if (mode & 0o022) return `${path} is writable by group or others (mode ${octal(mode)}): \`chmod go-w ${path}\``;
      return undefined;
    }),
  );
  return problems.filter((p): p is string => p !== undefined);
};

const octal = (mode: number): string => mode.toString(8).padStart(4, '0');

/** Sets each existing file to its mode where it is looser (bits beyond the mode); returns what was fixed. */
export const tightenModes = async (dir: string, files: readonly { path: string; mode: number }[]): Promise<string[]> => {
  const fixed = await mapLimit(files, IO_CONCURRENCY, async (f) => {
    const path = join(dir, f.path);
    const info = await stat(path).catch(() => undefined);
    if (!info || (info.mode & 0o777 & ~f.mode) === 0) return undefined;
    await named(path, () => chmod(path, f.mode));
    return `${f.path} had mode ${octal(info.mode & 0o777)}, set to ${octal(f.mode)}`;
  });
  return fixed.filter((p): p is string => p !== undefined);
};

/** Node's write errors do not say which file ("ENOSPC: no space left on device, write"): add it. */
const named = async <T>(what: string, op: () => Promise<T>): Promise<T> => {
  try {
    return await op();
  } catch (err) {
    throw new KubeinstallError(`${what}: ${(err as Error).message}`);
  }
};

/** Each file whose content or mode differs from what is on disk. */
export const changedFiles = async (dir: string, files: readonly OutputFile[]): Promise<OutputFile[]> => {
  const changed = await mapLimit(files, IO_CONCURRENCY, async (f) => {
    const path = join(dir, f.path);
    const [current, info] = await Promise.all([readIfExists(path), stat(path).catch(() => undefined)]);
    return current?.toString() === f.data && info && (info.mode & 0o777) === f.mode ? undefined : f;
  });
  return changed.filter((f): f is OutputFile => f !== undefined);
};

// A run's files are first written under the staging folder; then a journal listing them is written, and
// only then are they renamed into place. A run stopped before the journal left the folder as it was (the
// next run discards the staged files); one stopped after it is finished by the next run. Either way no
// certificate ever sits beside a key it was not issued with.
export const STAGING_DIR = '.certs-staging';
const JOURNAL = 'journal.json';

/** Moves every file the journal lists into place (a file already moved is skipped): keys first, then the rest. */
const applyJournal = async (dir: string, paths: readonly string[]): Promise<void> => {
  const staging = join(dir, STAGING_DIR);
  // Every folder on the way, parents first, one at a time: a recursive mkdir reports a full disk as ENOENT.
  const folders = [
    ...new Set(
      paths.flatMap((p) =>
        p
          .split('/')
          .slice(0, -1)
          .map((_, i, parts) => parts.slice(0, i + 1).join('/')),
      ),
    ),
  ].sort();
  for (const f of folders) {
    await named(join(dir, f), () => mkdir(join(dir, f), { mode: DIR_MODE })).catch(async (err) => {
      if (!(await stat(join(dir, f)).catch(() => undefined))?.isDirectory()) throw err;
    });
  }
  const move = async (p: string): Promise<void> => {
    const target = join(dir, p);
    await named(target, () => rename(join(staging, p), target)).catch(async (err) => {
      if (await lstat(join(staging, p)).catch(() => undefined)) throw err; // else an earlier run moved it
    });
  };
  const isKey = (p: string): boolean => !p.endsWith('.crt');
  await mapLimit(paths.filter(isKey), IO_CONCURRENCY, move);
  await mapLimit(
    paths.filter((p) => !isKey(p)),
    IO_CONCURRENCY,
    move,
  );
  await named(staging, () => rm(staging, { recursive: true, force: true }));
};

export type Recovery = { readonly finished: number } | { readonly discarded: true } | undefined;

/** What an interrupted run left: finish it when its journal was written, else discard its staged files. */
export const recoverInterrupted = async (dir: string): Promise<Recovery> => {
  const staging = join(dir, STAGING_DIR);
  const journal = await readIfExists(join(staging, JOURNAL));
  if (journal) {
    const paths = JSON.parse(journal.toString()) as string[];
    await applyJournal(dir, paths);
    return { finished: paths.length };
  }
  if (!(await lstat(staging).catch(() => undefined))) return undefined;
  await named(staging, () => rm(staging, { recursive: true, force: true }));
  return { discarded: true };
};

/**
 * Writes the files as one set (staged, journaled, moved); returns their paths. `stop` is asked once all are
 * staged: when it says so, the staged files are dropped and nothing changed.
 */
export const commitFiles = async (dir: string, files: readonly OutputFile[], stop: () => boolean = () => false): Promise<string[]> => {
  if (!files.length) return [];
  const staging = join(dir, STAGING_DIR);
  const discard = (): Promise<void> => rm(staging, { recursive: true, force: true });
  try {
    await mapLimit(files, IO_CONCURRENCY, (f) =>
      named(`${join(dir, f.path)} (staged in ${staging})`, () => writeFileAtomic(join(staging, f.path), f.data, { mode: f.mode, dirMode: DIR_MODE })),
    );
    if (stop()) throw new StagingDropped();
    await named(join(staging, JOURNAL), () => writeFileAtomic(join(staging, JOURNAL), JSON.stringify(files.map((f) => f.path)), { mode: SECRET_MODE }));
  } catch (err) {
    await discard().catch(() => undefined);
    throw err;
  }
  await applyJournal(
    dir,
    files.map((f) => f.path),
  );
  return files.map((f) => f.path);
};

/** `commitFiles` was told to stop before anything was moved into place. */
export class StagingDropped extends Error {}
