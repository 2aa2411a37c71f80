// Uploads as data: where each file is staged, and the one script that moves staged files into place
// atomically. Which files differ is the caller's decision (deploy's upload phase, from its hash record).
import { dirname, basename, posix } from 'node:path';
import { KubeinstallError } from '../util/errors.js';
import type { UploadItem } from './types.js';
import { quote, quoteAll } from '../util/shell.js';

/** Staging on the target's own file system is what makes the final `mv` atomic. Login users without
 * write access to the target folder stage in a fresh folder of their home (one per upload, so uploads at
 * once never share one) and the privileged script copies the planned files across. */
export type Staging = 'beside-target' | 'home';

/** `mktemp -d` template of the home staging folder, relative to the login folder. */
export const HOME_STAGING_TEMPLATE = '.kubeinstall-upload.XXXXXXXXXX';

/** Root writes beside the targets; a sudo user cannot, so stages in its home (preflight counts that space too). */
export const stagingFor = (sudo: boolean): Staging => (sudo ? 'home' : 'beside-target');

export const validateItems = (host: string, items: readonly UploadItem[]): void => {
  const seen = new Set<string>();
  for (const item of items) {
    const problem = !posix.isAbsolute(item.path)
      ? 'is not absolute'
      : /[\n\r\\]/.test(item.path) || item.path.endsWith('/')
        ? 'is not a plain file path'
        : seen.has(item.path)
          ? 'appears twice'
          : !/^[a-z_][a-z0-9_.-]*:[a-z_][a-z0-9_.-]*$/i.test(item.owner) && !/^\d+:\d+$/.test(item.owner)
            ? `has owner "${item.owner}" (expected user:group)`
            : undefined;
    if (problem) throw new KubeinstallError(`${host}: upload target ${JSON.stringify(item.path)} ${problem}`);
    seen.add(item.path);
  }
};

/** A fixed temporary name beside the target: a transfer cut short leaves at most this one file,
 * which the next run overwrites. */
export const besideTarget = (path: string): string => posix.join(dirname(path), `.${basename(path)}.kubeinstall-upload`);

const targetDirs = (items: readonly UploadItem[]): string[] => [...new Set(items.map((i) => dirname(i.path)))];

/** Where SFTP writes each file. Home staging mirrors the target folders (one numbered folder each, files
 * under their beside-target names) inside the upload's staging folder. */
export const stagedPaths = (staging: Staging, send: readonly UploadItem[], stagingDir = ''): string[] => {
  const dirs = targetDirs(send);
  return send.map((item) => (staging === 'beside-target' ? besideTarget(item.path) : stagedInHome(stagingDir, dirs, item)));
};

const stagedInHome = (stagingDir: string, dirs: readonly string[], item: UploadItem): string =>
  posix.join(stagingDir, String(dirs.indexOf(dirname(item.path))), basename(besideTarget(item.path)));

/** Creates the folders SFTP writes into. Runs privileged for beside-target staging; for home staging it
 * prints the fresh staging folder. */
export const prepareCommand = (staging: Staging, send: readonly UploadItem[]): string =>
  staging === 'beside-target'
    ? `mkdir -p -- ${quoteAll(targetDirs(send))}`
    : `dir=$(mktemp -d "$HOME"/${HOME_STAGING_TEMPLATE}) && mkdir -- ${targetDirs(send)
        .map((_, i) => `"$dir"/${i}`)
        .join(' ')} && printf '%s\\n' "$dir"`;

/** The staging folder `prepareCommand` printed: an absolute path made by mktemp, nothing else. */
export const parseStagingDir = (host: string, stdout: string): string => {
  const dir = stdout.trim();
  if (!/^\/[^\n]*\/\.kubeinstall-upload\.[A-Za-z0-9]+$/.test(dir))
    throw new KubeinstallError(`${host}: unexpected staging folder from mktemp: ${JSON.stringify(dir)}`);
  return dir;
};

/** After a failed upload: the temporary files beside the targets (privileged). */
export const removeTempFilesCommand = (send: readonly UploadItem[]): string => `rm -f -- ${quoteAll(send.map((i) => besideTarget(i.path)))}`;

/** After a failed upload, as the login user: its staging folder. */
export const removeStagingCommand = (stagingDir: string): string => `rm -rf -- ${quote(stagingDir)}`;

/** Free bytes for unprivileged users on the file system holding `dir`: available blocks and block size. */
export const freeSpaceCommand = (dir: string): string => `stat -f -c '%a %S' -- ${quote(dir)}`;

export const parseFreeSpace = (stdout: string): number | undefined => {
  const m = /^(\d+) (\d+)$/.exec(stdout.trim());
  return m ? Number(m[1]) * Number(m[2]) : undefined;
};

const octal = (item: UploadItem): string => (item.mode & 0o7777).toString(8).padStart(4, '0');

/** `chown`/`chmod` once per distinct owner or mode, not once per file: process start-up dominates. */
const grouped = (verb: string, key: (i: UploadItem) => string, items: readonly UploadItem[], pathOf: (i: UploadItem) => string): string[] => {
  const groups = new Map<string, string[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), pathOf(item)]);
  return [...groups].map(([value, paths]) => `${verb} ${quote(value)} -- ${quoteAll(paths)}`);
};

const SUMS_END = 'KUBEINSTALL_SUMS';

/** The privileged script that makes sent files ready beside their targets (copied from home staging and
 * checked there against their sha256; owner and mode set). Renaming into place is the last step: here with
 * `mv` for home staging; for beside-target staging the executor renames over SFTP (posix-rename), which
 * starts no process per file. Only the planned files are copied out of the staging folder, by name:
 * whatever else is found there stays there.
 *
 * The hash check is for home staging only. There the files sat in a folder the login user owns, where any
 * of its processes could have changed them before the copy: only a check of the root-owned copies vouches
 * for what gets installed. Files root wrote beside their targets need no second read: the executor hashed
 * the bytes as it sent them (and refuses any that differ from the plan), the SSH transport's MAC guards
 * them on the way, and the server acknowledged every write. */
export const installCommand = (staging: Staging, send: readonly UploadItem[], stagingDir = ''): string => {
  const lines = ['set -e'];
  const fromHome = staging === 'home';
  if (fromHome) {
    const dirs = targetDirs(send);
    lines.push(
      `mkdir -p -- ${quoteAll(dirs)}`,
      ...dirs.map((d) => `cp -- ${quoteAll(send.filter((i) => dirname(i.path) === d).map((i) => stagedInHome(stagingDir, dirs, i)))} ${quote(`${d}/`)}`),
      `sha256sum -c --quiet <<'${SUMS_END}'`,
      ...send.map((i) => `${i.sha256}  ${besideTarget(i.path)}`),
      SUMS_END,
    );
  }
  lines.push(
    ...grouped(
      'chown',
      (i) => i.owner,
      send,
      (i) => besideTarget(i.path),
    ),
  );
  lines.push(...grouped('chmod', octal, send, (i) => besideTarget(i.path)));
  if (fromHome) lines.push(...send.map((i) => `mv -f -- ${quote(besideTarget(i.path))} ${quote(i.path)}`), removeStagingCommand(stagingDir));
  return lines.join('\n');
};
