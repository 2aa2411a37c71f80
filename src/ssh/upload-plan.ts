// Uploads as data: which targets already hold the right bytes (one remote command hashes them all),
// where each file is staged, and the one script that moves staged files into place atomically.
import { dirname, basename, posix } from 'node:path';
import { KubeinstallError } from '../util/errors.js';
import type { Host } from '../inventory/model.js';
import type { UploadItem } from './types.js';
import { quote, quoteAll } from '../util/shell.js';

export interface RemoteFileState {
  readonly mode: number;
  readonly owner: string;
  readonly sha256: string;
}

export interface UploadPlan {
  /** Bytes differ or the file is missing: send it. */
  readonly send: readonly UploadItem[];
  /** Bytes match but mode or owner differ: fix in place. */
  readonly fix: readonly UploadItem[];
  readonly skip: readonly UploadItem[];
}

/** Staging on the target's own file system is what makes the final `mv` atomic. Login users without
 * write access to the target folder stage in their home and the privileged script copies across. */
export type Staging = 'beside-target' | 'home';

export const HOME_STAGING_DIR = '.kubeinstall-upload';

/** Root writes beside the targets; a sudo user cannot, so stages in its home (preflight counts that space too). */
export const stagingFor = (host: Pick<Host, 'ssh'>): Staging => (host.ssh.sudo ? 'home' : 'beside-target');

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

/** One command, two processes whatever the number of files: `stat` of every target that exists, a
 * blank line, then `sha256sum` of each. Missing files only produce (discarded) errors. */
export const remoteStateCommand = (paths: readonly string[]): string => {
  const args = quoteAll(paths);
  return `stat -c '%a %U:%G %n' -- ${args} 2>/dev/null; echo; sha256sum -- ${args} 2>/dev/null; true`;
};

export const parseRemoteState = (stdout: string): Map<string, RemoteFileState> => {
  const blank = stdout.indexOf('\n\n');
  const [stats, sums] = blank < 0 ? [stdout, ''] : [stdout.slice(0, blank), stdout.slice(blank + 2)];
  const meta = new Map<string, { mode: number; owner: string }>();
  for (const m of stats.matchAll(/^([0-7]+) (\S+) (.+)$/gm)) meta.set(m[3], { mode: parseInt(m[1], 8), owner: m[2] });
  const state = new Map<string, RemoteFileState>();
  for (const m of sums.matchAll(/^([0-9a-f]{64}) [ *](.+)$/gm)) {
    const found = meta.get(m[2]);
    if (found) state.set(m[2], { ...found, sha256: m[1] });
  }
  return state;
};

export const planUploads = (items: readonly UploadItem[], state: ReadonlyMap<string, RemoteFileState>): UploadPlan => {
  const send: UploadItem[] = [];
  const fix: UploadItem[] = [];
  const skip: UploadItem[] = [];
  for (const item of items) {
    const remote = state.get(item.path);
    if (!remote || remote.sha256 !== item.sha256) send.push(item);
    else if (remote.mode !== (item.mode & 0o7777) || remote.owner !== item.owner) fix.push(item);
    else skip.push(item);
  }
  return { send, fix, skip };
};

/** A fixed temporary name beside the target: a transfer cut short leaves at most this one file,
 * which the next run overwrites. */
export const besideTarget = (path: string): string => posix.join(dirname(path), `.${basename(path)}.kubeinstall-upload`);

const targetDirs = (items: readonly UploadItem[]): string[] => [...new Set(items.map((i) => dirname(i.path)))];

/** Where SFTP writes each file. Home staging mirrors the target folders (one numbered folder each, files
 * under their beside-target names) so one `cp` per folder moves them across; it is relative, as SFTP
 * resolves it against the login folder. */
export const stagedPaths = (staging: Staging, send: readonly UploadItem[]): string[] => {
  const dirs = targetDirs(send);
  return send.map((item) =>
    staging === 'beside-target' ? besideTarget(item.path) : `${HOME_STAGING_DIR}/${dirs.indexOf(dirname(item.path))}/${basename(besideTarget(item.path))}`,
  );
};

/** Creates the folders SFTP writes into. Runs privileged for beside-target staging. */
export const prepareCommand = (staging: Staging, send: readonly UploadItem[]): string =>
  staging === 'beside-target'
    ? `mkdir -p -- ${quoteAll(targetDirs(send))}`
    : `rm -rf ${HOME_STAGING_DIR} && mkdir -m 700 ${HOME_STAGING_DIR} && mkdir -- ${quoteAll(targetDirs(send).map((_, i) => `${HOME_STAGING_DIR}/${i}`))}`;

const octal = (item: UploadItem): string => (item.mode & 0o7777).toString(8).padStart(4, '0');

/** `chown`/`chmod` once per distinct owner or mode, not once per file: process start-up dominates. */
const grouped = (verb: string, key: (i: UploadItem) => string, items: readonly UploadItem[], pathOf: (i: UploadItem) => string): string[] => {
  const groups = new Map<string, string[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), pathOf(item)]);
  return [...groups].map(([value, paths]) => `${verb} ${quote(value)} -- ${quoteAll(paths)}`);
};

const SUMS_END = 'KUBEINSTALL_SUMS';

/** The privileged script that makes sent files ready beside their targets (copied from home staging,
 * checked against their sha256, owner and mode set) and fixes the metadata of the rest. Renaming into
 * place is the last step: here with `mv` for home staging; for beside-target staging the executor
 * renames over SFTP (posix-rename), which starts no process per file. */
export const installCommand = (staging: Staging, plan: UploadPlan, home = ''): string => {
  const lines = ['set -e'];
  const fromHome = staging === 'home' && plan.send.length > 0;
  const staged = posix.join(home, HOME_STAGING_DIR);
  if (fromHome) {
    const dirs = targetDirs(plan.send);
    lines.push(`mkdir -p -- ${quoteAll(dirs)}`, ...dirs.map((d, i) => `cp -rT -- ${quote(`${staged}/${i}`)} ${quote(d)}`));
  }
  if (plan.send.length) {
    lines.push(`sha256sum -c --quiet <<'${SUMS_END}'`, ...plan.send.map((i) => `${i.sha256}  ${besideTarget(i.path)}`), SUMS_END);
    lines.push(...grouped('chown', (i) => i.owner, plan.send, (i) => besideTarget(i.path)));
    lines.push(...grouped('chmod', octal, plan.send, (i) => besideTarget(i.path)));
  }
  lines.push(...grouped('chown', (i) => i.owner, plan.fix, (i) => i.path), ...grouped('chmod', octal, plan.fix, (i) => i.path));
  if (fromHome) lines.push(...plan.send.map((i) => `mv -f -- ${quote(besideTarget(i.path))} ${quote(i.path)}`), `rm -rf -- ${quote(staged)}`);
  return lines.join('\n');
};
