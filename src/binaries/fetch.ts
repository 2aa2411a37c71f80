// `binaries fetch`: the artifacts of sources.ts downloaded into the binaries folder, each checked against
// the checksum its release publishes before anything takes a final name.
//
// Layout of the folder: the binaries under their plain names (what deploy reads), the CNI plugins under
// cni/, SHA256SUMS listing every file installed, and .downloads/ holding partial downloads (resumed by
// the next run) and the verified archives (so a re-run downloads nothing). Archives are unpacked with
// the system tar: it is on every machine kubeinstall runs on, and GNU tar refuses members with `..` or
// an absolute path; what is installed from the unpacked tree must be a regular file (never a symlink).
import { execFile } from 'node:child_process';
import { chmod, lstat, mkdir, mkdtemp, open, readdir, readFile, realpath, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { hashFile } from '../render/load.js';
import { KubeinstallError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import { downloadTo, getText, HttpError, type Progress } from './http.js';
import { urlFor, type Artifact } from './sources.js';

export const DOWNLOADS_FOLDER = '.downloads';
export const SUMS_FILE = 'SHA256SUMS';
const BINARY_MODE = 0o755;
/** Attempts per download when the connection breaks (each resumes where the last stopped). */
const ATTEMPTS = 3;

export interface FetchOptions {
  readonly dest: string;
  readonly mirror?: URL;
  readonly onProgress: (file: string, p: Progress) => void;
  readonly onDone: (file: string, outcome: Outcome) => void;
}

export type Outcome =
  | { readonly kind: 'up-to-date' }
  | { readonly kind: 'downloaded'; readonly progress: Progress }
  | { readonly kind: 'failed'; readonly message: string };

/** An installed file: its path under the binaries folder and its sha256. */
interface Installed {
  readonly to: string;
  readonly sha256: string;
}

/** The digest a checksum file gives for `name`: a bare digest (Kubernetes' .sha256), or its `sha256sum` line. */
export const checksumFor = (text: string, name: string): string | undefined => {
  const bare = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(bare)) return bare.toLowerCase();
  for (const line of text.split('\n')) {
    const m = /^([0-9a-fA-F]{64})\s+\*?(.+)$/.exec(line.trim());
    if (m && basename(m[2]!) === name) return m[1]!.toLowerCase();
  }
  return undefined;
};

const hashIfFile = (path: string): Promise<string | undefined> => hashFile(path).catch(() => undefined);

/** Makes a downloaded file's bytes durable before it takes its final name. */
const syncFile = async (path: string): Promise<void> => {
  const handle = await open(path, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
};

const download = async (a: Artifact, opts: FetchOptions, expected: string, partPath: string): Promise<Progress> => {
  const url = urlFor(a.upstream, a.path, opts.mirror);
  await mkdir(dirname(partPath), { recursive: true, mode: 0o755 });
  let progress: Progress | undefined;
  for (let attempt = 1; !progress; attempt++) {
    try {
      progress = await downloadTo(url, partPath, (p) => opts.onProgress(a.file, p));
    } catch (err) {
      if (err instanceof HttpError || attempt >= ATTEMPTS) throw err;
    }
  }
  const actual = await hashFile(partPath);
  if (actual !== expected) {
    await rm(partPath, { force: true });
    throw new KubeinstallError(`${a.file}: sha256 mismatch: expected ${expected}, got ${actual} (removed; nothing installed from it)`);
  }
  await syncFile(partPath);
  return progress;
};

/** Moves `from` to `<dest>/<to>` as an executable, unless a file with the same bytes is there already. */
const install = async (from: string, dest: string, to: string): Promise<Installed> => {
  const sha256 = await hashFile(from);
  const target = join(dest, to);
  if ((await hashIfFile(target)) === sha256) {
    await rm(from, { force: true });
  } else {
    await mkdir(dirname(target), { recursive: true, mode: 0o755 });
    await chmod(from, BINARY_MODE);
    await rename(from, target);
  }
  return { to, sha256 };
};

/** `<root>/<member>` itself, reached through no symlink (a folder in the archive may be one, pointing anywhere). */
const inside = async (root: string, member: string, archive: string, kind: 'file' | 'folder'): Promise<string> => {
  const path = resolve(root, member);
  const info = await lstat(path).catch(() => undefined);
  const real = await realpath(path).catch(() => undefined);
  if (!(kind === 'file' ? info?.isFile() : info?.isDirectory()) || real !== resolve(await realpath(root), member)) {
    throw new KubeinstallError(`${archive} has no regular ${kind} ${member}`);
  }
  return path;
};

/** Unpacks a verified archive beside the folder (same file system, so installing is a rename) and installs its members. */
const unpack = async (a: Artifact, archivePath: string, dest: string): Promise<Installed[]> => {
  const tmp = await mkdtemp(join(dest, DOWNLOADS_FOLDER, '.unpack-'));
  try {
    await promisify(execFile)('tar', ['-xzf', archivePath, '-C', tmp, '--no-same-owner']);
    const installed: Installed[] = [];
    for (const i of a.installs) {
      const member = i.member!;
      if (member.endsWith('/')) {
        const folder = await inside(tmp, member, a.file, 'folder');
        const entries = await readdir(folder, { withFileTypes: true });
        for (const e of entries.filter((x) => x.isFile()).sort((x, y) => x.name.localeCompare(y.name)))
          installed.push(await install(join(folder, e.name), dest, i.to + e.name));
      } else {
        installed.push(await install(await inside(tmp, member, a.file, 'file'), dest, i.to));
      }
    }
    return installed;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
};

const fetchArtifact = async (a: Artifact, opts: FetchOptions): Promise<{ installed: Installed[]; outcome: Outcome }> => {
  const checksumUrl = urlFor(a.upstream, a.checksumPath, opts.mirror);
  const expected = checksumFor(await getText(checksumUrl), a.checksumName);
  if (!expected) throw new KubeinstallError(`${a.file}: ${basename(a.checksumPath)} lists no sha256 for ${a.checksumName}`);
  const downloads = join(opts.dest, DOWNLOADS_FOLDER);
  if (!a.archive) {
    const to = a.installs[0]!.to;
    if ((await hashIfFile(join(opts.dest, to))) === expected) return { installed: [{ to, sha256: expected }], outcome: { kind: 'up-to-date' } };
    const part = join(downloads, `${a.file}.part`);
    const progress = await download(a, opts, expected, part);
    return { installed: [await install(part, opts.dest, to)], outcome: { kind: 'downloaded', progress } };
  }
  const kept = join(downloads, a.file);
  let outcome: Outcome = { kind: 'up-to-date' };
  if ((await hashIfFile(kept)) !== expected) {
    const part = `${kept}.part`;
    outcome = { kind: 'downloaded', progress: await download(a, opts, expected, part) };
    await rename(part, kept);
  }
  return { installed: await unpack(a, kept, opts.dest), outcome };
};

/** SHA256SUMS with these files' lines replaced and other lines kept, sorted by name. */
const writeSums = async (dest: string, installed: readonly Installed[]): Promise<void> => {
  const path = join(dest, SUMS_FILE);
  const lines = new Map<string, string>();
  const old = await readFile(path, 'utf8').catch(() => '');
  for (const line of old.split('\n')) {
    const m = /^([0-9a-fA-F]{64})\s+\*?(.+)$/.exec(line.trim());
    if (m) lines.set(m[2]!, m[1]!.toLowerCase());
  }
  for (const i of installed) lines.set(i.to, i.sha256);
  const text = [...lines]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, sha]) => `${sha}  ${name}\n`)
    .join('');
  await writeFileAtomic(path, text, { mode: 0o644 });
};

export interface FetchResult {
  readonly installed: readonly string[];
  readonly failed: readonly { readonly file: string; readonly message: string }[];
}

/** Every artifact in turn; one failing does not stop the others. SHA256SUMS lists what was installed. */
export const fetchBinaries = async (artifacts: readonly Artifact[], opts: FetchOptions): Promise<FetchResult> => {
  await mkdir(join(opts.dest, DOWNLOADS_FOLDER), { recursive: true, mode: 0o755 });
  const installed: Installed[] = [];
  const failed: { file: string; message: string }[] = [];
  for (const a of artifacts) {
    try {
      const r = await fetchArtifact(a, opts);
      installed.push(...r.installed);
      opts.onDone(a.file, r.outcome);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      failed.push({ file: a.file, message });
      opts.onDone(a.file, { kind: 'failed', message });
    }
  }
  if (installed.length > 0) await writeSums(opts.dest, installed);
  return { installed: installed.map((i) => i.to), failed };
};
