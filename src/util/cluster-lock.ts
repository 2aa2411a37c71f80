// One run at a time in a cluster folder: every command that changes it (certs, deploy, plan --write)
// runs inside withClusterLock. The lock is a file in the folder holding who took it (pid, command line,
// start time, host name); it appears whole or not at all (written beside, then hard-linked into place,
// which fails when it exists), and it goes away when the run ends, on Ctrl-C and on SIGTERM too.
// A lock left by a process that no longer runs on this host is taken over with a note; a lock from
// another host cannot be judged from here and is reported like a live one.
import { readFileSync, unlinkSync } from 'node:fs';
import { link, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { constants, hostname } from 'node:os';
import { join } from 'node:path';
import { KubeinstallError, systemReason } from './errors.js';
import { writeFileAtomic } from './fs.js';

export const LOCK_FILE = 'kubeinstall.lock';
/** The cluster folder holds private keys: it is created private. */
const CLUSTER_DIR_MODE = 0o700;

interface LockHolder {
  readonly pid: number;
  readonly command: string;
  readonly startedAt: string;
  readonly hostname: string;
}

const describeHolder = (h: LockHolder): string => `pid ${h.pid} (${h.command}) since ${h.startedAt}${h.hostname === hostname() ? '' : ` on ${h.hostname}`}`;

const parseHolder = (text: string, path: string): LockHolder => {
  try {
    const h = JSON.parse(text) as Partial<LockHolder>;
    if (Number.isInteger(h.pid) && typeof h.command === 'string' && typeof h.startedAt === 'string' && typeof h.hostname === 'string') return h as LockHolder;
  } catch {
    // reported below
  }
  throw new KubeinstallError(`${path} is not a kubeinstall lock; remove it if no kubeinstall run uses this cluster folder`);
};

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, owned by another user
  }
};

const isStale = (h: LockHolder): boolean => h.hostname === hostname() && !isAlive(h.pid);

/**
 * Removes the lock file if it still holds `expected`. Moving it aside is atomic, so of two runs taking
 * over the same stale lock only one moves the stale file; the other moves a fresh lock, sees it, and
 * puts it back.
 */
const removeIfUnchanged = async (path: string, expected: string): Promise<boolean> => {
  const aside = `${path}.${process.pid}.stale`;
  try {
    await rename(path, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  try {
    if ((await readFile(aside, 'utf8')) === expected) return true;
    await link(aside, path).catch(() => undefined); // someone's live lock: back where it was
    return false;
  } finally {
    await rm(aside, { force: true });
  }
};

const SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** Removes the lock file (if it is ours) when the run ends, however it ends; returns the release. */
const hold = (path: string, text: string): (() => void) => {
  const release = (): void => {
    process.off('exit', release);
    for (const s of SIGNALS) process.off(s, onSignal);
    try {
      if (readFileSync(path, 'utf8') === text) unlinkSync(path);
    } catch {
      // already gone
    }
  };
  // Ends the run on a signal unless the command handles it itself (deploy stops after the steps in
  // flight on Ctrl-C, then releases the lock on its way out).
  const onSignal = (signal: NodeJS.Signals): void => {
    if (process.listenerCount(signal) > 1) return;
    release();
    process.exit(128 + constants.signals[signal]);
  };
  process.on('exit', release);
  for (const s of SIGNALS) process.on(s, onSignal);
  return release;
};

/** Takes the cluster folder's lock (creating the folder), or says who holds it (exit 1). */
const lockClusterFolder = async (clusterDir: string): Promise<() => void> => {
  const path = join(clusterDir, LOCK_FILE);
  const cannot = (err: unknown): KubeinstallError => new KubeinstallError(`cannot lock the cluster folder: ${path}: ${systemReason(err)}`);
  await mkdir(clusterDir, { recursive: true, mode: CLUSTER_DIR_MODE }).catch((err: unknown) => {
    throw cannot(err);
  });
  const me: LockHolder = {
    pid: process.pid,
    command: ['kubeinstall', ...process.argv.slice(2)].join(' '),
    startedAt: new Date().toISOString(),
    hostname: hostname(),
  };
  const text = `${JSON.stringify(me)}\n`;
  const release = hold(path, text); // before the file exists, so a signal at any moment removes it
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await writeFileAtomic(path, text, { mode: 0o644, exclusive: true });
        return release;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw cannot(err);
      }
      const current = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return undefined; // released meanwhile: try again
        throw cannot(err);
      });
      if (current === undefined) continue;
      const holder = parseHolder(current, path);
      if (!isStale(holder))
        throw new KubeinstallError(`${clusterDir} is in use by ${describeHolder(holder)}; try again when it has finished (lock file ${path})`);
      if (await removeIfUnchanged(path, current)) {
        process.stderr.write(`note: took over the lock on ${clusterDir} left by ${describeHolder(holder)}, which is no longer running\n`);
      }
    }
    throw new KubeinstallError(`cannot lock the cluster folder: ${path} keeps changing`);
  } catch (err) {
    release();
    throw err;
  }
};

/** Runs `task` holding the cluster folder's lock; every command that changes the folder goes through here. */
export const withClusterLock = async <T>(clusterDir: string, task: () => Promise<T>): Promise<T> => {
  const release = await lockClusterFolder(clusterDir);
  try {
    return await task();
  } finally {
    release();
  }
};
