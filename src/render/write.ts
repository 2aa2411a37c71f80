// `plan --write DIR`: each host's files under DIR/hosts/<name>/<path on the host>, with their planned
// modes, and the manifests under DIR/manifests/. Binaries become symlinks to the local file, so the
// tree shows where each one goes without copying hundreds of megabytes per host.
//
// DIR may be anywhere, and the command may run as root, so nothing planted in DIR is followed: DIR
// must be new, empty, or marked as ours by an earlier run; every folder below it is checked with lstat
// (a symlink is refused, naming it) and files are written through a fresh temp file (O_EXCL |
// O_NOFOLLOW) renamed into place.
import { lstat, mkdir, readdir, rm, symlink } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { KubeinstallError, UsageError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import type { ClusterPlan } from './types.js';

/** Marks a folder as written by `plan --write`, so a re-run may write into it again. */
export const PLAN_MARKER = '.kubeinstall-plan';
const DIR_MODE = 0o755;

const lstatIfAny = (path: string) =>
  lstat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });

const refuseLink = (path: string): never => {
  throw new KubeinstallError(`${path} is a symlink; plan --write does not write through symlinks (remove it, or write to a new folder)`);
};

/** DIR itself: created, or an empty folder, or one an earlier run marked; never a symlink. */
const claimTarget = async (dir: string): Promise<void> => {
  const info = await lstatIfAny(dir);
  if (!info) {
    await mkdir(dir, { recursive: true, mode: DIR_MODE }); // the parents are the user's choice
  } else if (info.isSymbolicLink()) {
    refuseLink(dir);
  } else if (!info.isDirectory()) {
    throw new UsageError(`--write: ${dir} is not a folder`);
  } else {
    const entries = await readdir(dir);
    if (entries.length && !entries.includes(PLAN_MARKER)) {
      throw new UsageError(`--write: ${dir} is not empty and was not written by kubeinstall (no ${PLAN_MARKER}); give a new or empty folder`);
    }
  }
  await writeFile(dir, PLAN_MARKER, 'written by `kubeinstall plan --write`; it may write into this folder again\n', 0o644);
};

/** Creates the folders from `root` down to `dir`, refusing any that is a symlink or not a folder. */
const ensureFolders = async (root: string, dir: string, known: Set<string>): Promise<void> => {
  let path = root;
  for (const part of relative(root, dir).split(sep).filter(Boolean)) {
    path = join(path, part);
    if (known.has(path)) continue;
    let info = await lstatIfAny(path);
    if (!info) {
      await mkdir(path, { mode: DIR_MODE }).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err; // appeared meanwhile: checked below
      });
      info = await lstat(path);
    }
    if (info.isSymbolicLink()) refuseLink(path);
    if (!info.isDirectory()) throw new KubeinstallError(`${path} is not a folder`);
    known.add(path);
  }
};

const writeFile = async (root: string, path: string, data: string | Uint8Array, mode: number, known = new Set<string>()): Promise<void> => {
  const target = join(root, path);
  await ensureFolders(root, dirname(target), known);
  if ((await lstatIfAny(target))?.isSymbolicLink()) refuseLink(target);
  await writeFileAtomic(target, data, { mode });
};

export const writePlanTree = async (plan: ClusterPlan, dir: string): Promise<number> => {
  await claimTarget(dir);
  const known = new Set<string>();
  let written = 0;
  for (const h of plan.hosts) {
    const root = join('hosts', h.host.name);
    for (const f of h.files) {
      const path = join(root, f.path);
      if (f.content.kind === 'inline') {
        await writeFile(dir, path, f.content.data, f.mode, known);
      } else {
        // A binary is a symlink of ours: the one there (from an earlier run) is replaced, not followed.
        await ensureFolders(dir, dirname(join(dir, path)), known);
        await rm(join(dir, path), { force: true });
        await symlink(f.content.localPath, join(dir, path));
      }
      written++;
    }
  }
  for (const m of plan.manifests) {
    await writeFile(dir, join('manifests', m.name), m.yaml, 0o644, known);
    written++;
  }
  return written;
};
