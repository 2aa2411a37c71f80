// The cluster folder on disk: read what exists, write only what changed, as one set. Nothing else in the
// PKI touches the disk.
import { execFile } from 'node:child_process';
import { closeSync, constants, fchmodSync, lstatSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { chmod, lstat, mkdir, open, readFile, rm, rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { KubeinstallError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import { mapLimit } from '../util/semaphore.js';
import { parseKubeconfig } from '../kubeconfig/kubeconfig.js';
import { parsePrivateKey, publicKeyPem } from './keys.js';
import { parseRotationState, ROTATION_DIR, ROTATION_SA_FILES, ROTATION_STATE_FILE, rotationCaFiles, type RotationState } from './rotation.js';
import { SERVICE_ACCOUNT_FILES, type CaName, type CertInstance, type PkiPlan } from './specs.js';
import { parseCertificate, type CertInfo } from './x509.js';

/** Enough to keep libuv's four threads busy, few enough to stay far below any open-file limit (even `ulimit -n 64`). */
export const IO_CONCURRENCY = 16;

export const readIfExists = async (path: string): Promise<Buffer | undefined> => {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
};

const readIfExistsSync = (path: string): Buffer | undefined => {
  try {
    return readFileSync(path);
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

/**
 * Reads each certificate of the plan: from its own files, or from the kubeconfig that embeds it. Synchronous
 * reads: for thousands of small (or absent) files, several times less CPU than a round trip through libuv's
 * pool per file, and one descriptor at a time at any size.
 */
export const readMaterial = (dir: string, plan: Pick<PkiPlan, 'certs' | 'kubeconfigs'>): Map<string, Material> => {
  const embeddedIn = new Map(plan.kubeconfigs.map((k) => [k.certId, k.file]));
  const read = (c: CertInstance): [string, Material] => {
    if (c.files) {
      const [crt, key] = [readIfExistsSync(join(dir, c.files.crt)), readIfExistsSync(join(dir, c.files.key))];
      return [c.id, parseMaterial(c.files.crt, crt?.toString(), key?.toString())];
    }
    const file = embeddedIn.get(c.id)!;
    const text = readIfExistsSync(join(dir, file));
    if (!text) return [c.id, parseMaterial(file, undefined, undefined)];
    try {
      const k = parseKubeconfig(text.toString());
      return [c.id, parseMaterial(file, k.certPem, k.keyPem)];
    } catch (err) {
      return [c.id, { source: file, certError: `unreadable kubeconfig: ${(err as Error).message}` }];
    }
  };
  return new Map(plan.certs.map(read));
};

export interface ServiceAccountFound {
  readonly keyPem?: string;
  readonly key?: KeyObject;
  readonly pub?: string;
}

/** A service-account key pair's files as found: the signing pair, or the rotation's key beside it. */
export const readServiceAccount = async (
  dir: string,
  files: { readonly key: string; readonly pub: string } = SERVICE_ACCOUNT_FILES,
): Promise<ServiceAccountFound> => {
  const [key, pub] = await Promise.all([readIfExists(join(dir, files.key)), readIfExists(join(dir, files.pub))]);
  return { keyPem: key?.toString(), key: key ? parsePrivateKey(key) : undefined, pub: pub?.toString() };
};

/** The CA rotation in progress, if any. */
export const readRotationState = async (dir: string): Promise<RotationState | undefined> => {
  const text = await readIfExists(join(dir, ROTATION_STATE_FILE));
  return text && parseRotationState(text.toString(), join(dir, ROTATION_STATE_FILE));
};

/** A rotation's step is rolled out to every host. */
export const markRotationRolled = (dir: string, state: RotationState): Promise<void> =>
  writeFileAtomic(join(dir, ROTATION_STATE_FILE), rotationStateText({ ...state, rolled: true }), { mode: SECRET_MODE });

export const rotationStateText = (state: RotationState): string => `${JSON.stringify(state, null, 2)}\n`;

/** The last step is rolled out: the rotation's folder goes (step 3 already removed every file but the state). */
export const finishRotation = async (dir: string): Promise<void> => {
  await rm(join(dir, ROTATION_STATE_FILE), { force: true });
  // only when empty: a file left there is an operator's, or a sign of a rotation not as this release wrote it
  await rmdir(join(dir, ROTATION_DIR)).catch(() => undefined);
};

/** What a rotation keeps beside each signer, as on disk: each CA's other certificate, and the other service-account
 * public key (derived from the new private key in step 1, as written in step 2). */
export const readRotationBeside = async (dir: string, cas: readonly CaName[]): Promise<{ cas: Map<CaName, string>; saPub?: string }> => {
  const found = await Promise.all(cas.map(async (ca) => [ca, (await readIfExists(join(dir, rotationCaFiles(ca).crt)))?.toString()] as const));
  return {
    cas: new Map(found.filter((f): f is readonly [CaName, string] => f[1] !== undefined)),
    saPub: besidePublicKey(await readServiceAccount(dir, ROTATION_SA_FILES)),
  };
};

/** The public half of the service-account key a rotation keeps beside the signing one: step 1's new private key, or
 * step 2's old public key. */
export const besidePublicKey = (beside: ServiceAccountFound): string | undefined => (beside.key ? publicKeyPem(beside.key) : beside.pub);

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
    await withName(path, () => chmod(path, f.mode));
    return `${f.path} had mode ${octal(info.mode & 0o777)}, set to ${octal(f.mode)}`;
  });
  return fixed.filter((p): p is string => p !== undefined);
};

/** Node's write errors do not say which file ("ENOSPC: no space left on device, write"): add it. */
const named = (what: string, err: unknown): KubeinstallError => new KubeinstallError(`${what}: ${(err as Error).message}`);

const withName = async <T>(what: string, op: () => Promise<T>): Promise<T> => {
  try {
    return await op();
  } catch (err) {
    throw named(what, err);
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
// certificate ever sits beside a key it was not issued with. The staging folder is flat (the n-th file of
// the journal is staged as `n`): mirroring the tree there made and removed a folder per host twice over.
export const STAGING_DIR = '.certs-staging';
const JOURNAL = 'journal.json';

/** Where the journal's n-th file is staged; a journal of an earlier release (a bare list) staged the tree as it is. */
const stagedAs = (journal: Journal, index: number): string => (Array.isArray(journal) ? journal[index]! : String(index));
type Journal = { readonly files: readonly string[]; readonly remove?: readonly string[] } | readonly string[];
const journalFiles = (journal: Journal): readonly string[] => (Array.isArray(journal) ? journal : (journal as { files: string[] }).files);
const journalRemovals = (journal: Journal): readonly string[] => (Array.isArray(journal) ? [] : ((journal as { remove?: string[] }).remove ?? []));

/**
 * Moves every file the journal lists into place (a file already moved is skipped): keys first, then the rest.
 * Synchronous: folders and renames are metadata only, and a round trip through libuv's pool per call cost
 * more than the call itself over tens of thousands of files.
 */
const applyJournal = async (dir: string, journal: Journal): Promise<void> => {
  const staging = join(dir, STAGING_DIR);
  const paths = journalFiles(journal);
  // Every folder on the way, parents first (sorted), one at a time: a recursive mkdir reports a full disk as
  // ENOENT, and folders made in parallel in one parent wait on its lock (twice the time per folder).
  const folders = new Set(
    paths.flatMap((p) =>
      p
        .split('/')
        .slice(0, -1)
        .map((_, i, parts) => parts.slice(0, i + 1).join('/')),
    ),
  );
  for (const f of [...folders].sort()) {
    try {
      mkdirSync(join(dir, f), { mode: DIR_MODE });
    } catch (err) {
      if (!statSync(join(dir, f), { throwIfNoEntry: false })?.isDirectory()) throw named(join(dir, f), err);
    }
  }
  const move = (index: number): void => {
    const target = join(dir, paths[index]!);
    try {
      renameSync(join(staging, stagedAs(journal, index)), target);
    } catch (err) {
      if (lstatSync(join(staging, stagedAs(journal, index)), { throwIfNoEntry: false })) throw named(target, err); // else an earlier run moved it
    }
  };
  const isKey = (p: string): boolean => !p.endsWith('.crt');
  const order = paths.map((p, i) => [p, i] as const);
  for (const [, i] of order.filter(([p]) => isKey(p))) move(i);
  for (const [, i] of order.filter(([p]) => !isKey(p))) move(i);
  // Files the set no longer has (a rotation's CA beside its signer); one already removed is skipped.
  for (const p of journalRemovals(journal)) await withName(join(dir, p), () => rm(join(dir, p), { force: true }));
  await withName(staging, () => rm(staging, { recursive: true, force: true }));
};

export type Recovery = { readonly finished: number } | { readonly discarded: true } | undefined;

/** What an interrupted run left: finish it when its journal was written, else discard its staged files. */
export const recoverInterrupted = async (dir: string): Promise<Recovery> => {
  const staging = join(dir, STAGING_DIR);
  const text = await readIfExists(join(staging, JOURNAL));
  if (text) {
    const journal = JSON.parse(text.toString()) as Journal;
    await applyJournal(dir, journal);
    return { finished: journalFiles(journal).length };
  }
  if (!(await lstat(staging).catch(() => undefined))) return undefined;
  await withName(staging, () => rm(staging, { recursive: true, force: true }));
  return { discarded: true };
};

/** A new file of our own: O_EXCL fails on anything already there, a symlink planted under the name included. */
const writeStaged = (path: string, data: string, mode: number): void => {
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  try {
    writeFileSync(fd, data);
    fchmodSync(fd, mode); // the umask may have narrowed the mode open() applied
  } finally {
    closeSync(fd);
  }
};

/**
 * Makes the staged files durable before a journal names them: one syncfs(2) of their file system through
 * coreutils' `sync -f` (Node has no binding for it), which costs far less than an fsync per file over tens
 * of thousands of files; where that command is missing or fails, each file is fsynced.
 */
const flushStaged = async (staging: string, names: readonly string[]): Promise<void> => {
  const synced = await new Promise<boolean>((resolve) => execFile('sync', ['-f', staging], (err) => resolve(!err)));
  if (synced) return;
  await mapLimit(names, IO_CONCURRENCY, (name) =>
    withName(join(staging, name), async () => {
      const handle = await open(join(staging, name), 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    }),
  );
};

/**
 * Writes the files and removes the paths in `remove` as one set (staged, journaled, moved); returns the written paths.
 * `stop` is asked once all are staged: when it says so, the staged files are dropped and nothing changed.
 */
export const commitFiles = async (
  dir: string,
  files: readonly OutputFile[],
  stop: () => boolean = () => false,
  remove: readonly string[] = [],
): Promise<string[]> => {
  if (!files.length && !remove.length) return [];
  const staging = join(dir, STAGING_DIR);
  const discard = (): Promise<void> => rm(staging, { recursive: true, force: true });
  const journal: Journal = { files: files.map((f) => f.path), ...(remove.length ? { remove } : {}) };
  try {
    await withName(staging, () => mkdir(staging, { recursive: true, mode: DIR_MODE }));
    // Synchronous: small files, one descriptor at a time at any size, and no round trip through libuv's pool per call.
    const names = files.map((_, i) => stagedAs(journal, i));
    files.forEach((f, i) => {
      try {
        writeStaged(join(staging, names[i]!), f.data, f.mode);
      } catch (err) {
        throw named(`${join(dir, f.path)} (staged in ${staging})`, err);
      }
    });
    await flushStaged(staging, names);
    if (stop()) throw new StagingDropped();
    await withName(join(staging, JOURNAL), () => writeFileAtomic(join(staging, JOURNAL), JSON.stringify(journal), { mode: SECRET_MODE }));
  } catch (err) {
    await discard().catch(() => undefined);
    throw err;
  }
  await applyJournal(dir, journal);
  return files.map((f) => f.path);
};

/** `commitFiles` was told to stop before anything was moved into place. */
export class StagingDropped extends Error {}
