// A backup on this machine: the snapshot file, and beside it a small JSON "sidecar" saying what it is
// (sha256, the member it was taken from, the revision, the member list). Both are secrets (the
// snapshot holds every Secret of the cluster): 0600 files in a 0700 folder, each written beside and
// renamed, the snapshot last, so a `.db` that exists always has its sidecar.
import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { createHash } from 'node:crypto';
import { KubeinstallError, UsageError, systemReason } from '../util/errors.js';

export const SNAPSHOT_MODE = 0o600;
export const BACKUP_DIR_MODE = 0o700;
export const BACKUPS_FOLDER = 'backups';

/** One member as `etcdctl member list` names it. */
export interface MemberEntry {
  readonly id: string; // hex, as etcdctl prints it
  readonly name: string;
  readonly peerUrls: readonly string[];
  readonly clientUrls: readonly string[];
}

/** What `snapshot status` says about a snapshot file. */
export interface SnapshotStatus {
  readonly hash: number;
  readonly revision: number;
  readonly totalKey: number;
  readonly totalSize: number;
}

export interface Sidecar {
  readonly kind: 'kubeinstall-etcd-backup';
  readonly cluster: string;
  readonly createdAt: string;
  readonly snapshot: string; // file name, beside the sidecar
  readonly sha256: string;
  readonly size: number;
  readonly takenFrom: string; // member name
  readonly etcdVersion: string;
  readonly revision: number;
  readonly totalKeys: number;
  readonly members: readonly MemberEntry[];
}

export const sidecarPath = (snapshotPath: string): string => `${snapshotPath}.json`;

/** `<cluster>-etcd-20261201T061502Z.db`: names sort by time, which --keep relies on. */
export const backupFileName = (cluster: string, at: Date): string =>
  `${cluster}-etcd-${at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}.db`;

const BACKUP_NAME = /^(.+)-etcd-\d{8}T\d{6}Z\.db$/;

/** The backups of `cluster` among `names` that --keep N removes: all but the N newest. */
export const backupsToPrune = (names: readonly string[], cluster: string, keep: number): string[] => {
  const ours = names.filter((n) => BACKUP_NAME.exec(n)?.[1] === cluster).sort();
  return ours.slice(0, Math.max(0, ours.length - keep));
};

/** `etcdctl member list -w simple` lines: `8e9e05c52164694d, started, m1, https://...:2380, https://...:2379, false`. */
export const parseMemberList = (stdout: string): MemberEntry[] =>
  stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [id = '', , name = '', peers = '', clients = ''] = line.split(', ');
      const urls = (s: string): string[] => s.split(',').filter(Boolean);
      return { id, name, peerUrls: urls(peers), clientUrls: urls(clients) };
    });

const CHECKSUM_BYTES = 32;

/**
 * The sha256 etcd appends to the snapshot it streams (what `snapshot restore` checks, before its
 * --skip-hash-check): `mismatch` for a changed byte anywhere, `none` when the file has no such trailer
 * (its size is not a bolt file's 512-byte multiple plus 32). Streamed: snapshots are large.
 */
export const checkTrailingSha = async (path: string, size: number): Promise<'ok' | 'none' | 'mismatch'> => {
  if (size < CHECKSUM_BYTES || size % 512 !== CHECKSUM_BYTES) return 'none';
  const body = size - CHECKSUM_BYTES;
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { start: 0, end: body - 1 })) hash.update(chunk as Buffer);
  const trailer = Buffer.alloc(CHECKSUM_BYTES);
  const handle = await open(path, 'r');
  try {
    await handle.read(trailer, 0, CHECKSUM_BYTES, body);
  } finally {
    await handle.close();
  }
  return hash.digest().equals(trailer) ? 'ok' : 'mismatch';
};

/** `snapshot status` with this machine's etcdctl (the binaries folder's: the cluster's own version). */
export const localSnapshotStatus = async (etcdctl: string, path: string): Promise<SnapshotStatus> => {
  let stdout: string;
  try {
    ({ stdout } = await promisify(execFile)(etcdctl, ['snapshot', 'status', path, '-w', 'json'], { env: { ...process.env, ETCDCTL_API: '3' } }));
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.stderr === undefined) throw new KubeinstallError(`cannot run ${etcdctl} on this machine to check ${path}: ${systemReason(err)}`);
    throw new UsageError(`${path} is not an etcd snapshot: etcdctl snapshot status: ${e.stderr.trim() || e.message}`);
  }
  const s = JSON.parse(stdout) as SnapshotStatus;
  return { hash: s.hash, revision: s.revision, totalKey: s.totalKey, totalSize: s.totalSize };
};

export interface CheckedSnapshot {
  readonly path: string;
  readonly sha256: string;
  readonly size: number;
  readonly status: SnapshotStatus;
  /** The sidecar beside it, when there is one. */
  readonly sidecar?: Sidecar;
}

const sha256Of = async (path: string): Promise<string> => {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
};

const readSidecar = async (path: string): Promise<Sidecar | undefined> => {
  const text = await readFile(sidecarPath(path), 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw new KubeinstallError(`cannot read ${sidecarPath(path)}: ${systemReason(err)}`);
  });
  if (text === undefined) return undefined;
  try {
    const s = JSON.parse(text) as Sidecar;
    if (s.kind === 'kubeinstall-etcd-backup' && /^[0-9a-f]{64}$/.test(s.sha256)) return s;
  } catch {
    // reported below
  }
  throw new UsageError(`${sidecarPath(path)} is not a kubeinstall backup description (kind kubeinstall-etcd-backup with a sha256)`);
};

/**
 * Everything that can be known about a snapshot file before a host is touched: its sha256 (against the
 * sidecar's when there is one), etcd's own trailing checksum, and `snapshot status`. A file that fails
 * any of them is bad input (exit 2).
 */
export const checkSnapshotFile = async (path: string, etcdctl: string): Promise<CheckedSnapshot> => {
  const info = await stat(path).catch((err: unknown) => {
    throw new UsageError(`cannot read the snapshot ${path}: ${systemReason(err)}`);
  });
  if (!info.isFile()) throw new UsageError(`${path} is not a file`);
  const sidecar = await readSidecar(path);
  const sha256 = await sha256Of(path);
  if (sidecar && sidecar.sha256 !== sha256)
    throw new UsageError(
      `${path}: sha256 ${sha256} differs from the ${sidecar.sha256} recorded in ${basename(sidecarPath(path))}: the file changed since the backup`,
    );
  if ((await checkTrailingSha(path, info.size)) === 'mismatch')
    throw new UsageError(`${path}: etcd's checksum at the end of the snapshot does not match its contents`);
  const status = await localSnapshotStatus(etcdctl, path);
  return { path, sha256, size: info.size, status, ...(sidecar ? { sidecar } : {}) };
};

/** The etcdctl of the binaries folder, which `deploy` installs on the members. */
export const localEtcdctl = (binariesDir: string): string => join(binariesDir, 'etcdctl');
