// Uploads as data: which targets already hold the right bytes (one remote command hashes them all),
// where each file is staged, and the one script that moves staged files into place atomically.
import { dirname, basename, posix } from 'node:path';
import { KubeinstallError } from '../util/errors.js';
import type { UploadItem } from './types.js';
import { quote, quoteAll } from './shell.js';

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

export const validateItems = (host: string, items: readonly UploadItem[]): void => {
  const seen = new Set<string>();
  for (const item of items) {
    const problem = !posix.isAbsolute(item.path)
      ? 'is not absolute'
      : /[\n\r]/.test(item.path) || item.path.endsWith('/')
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

/** One command printing `mode owner sha256  path` for every target that exists. */
export const remoteStateCommand = (paths: readonly string[]): string =>
  `for p in ${quoteAll(paths)}; do [ -f "$p" ] && printf '%s %s ' $(stat -c '%a %U:%G' -- "$p") && sha256sum -- "$p"; done; true`;

export const parseRemoteState = (stdout: string): Map<string, RemoteFileState> => {
  const state = new Map<string, RemoteFileState>();
  for (const line of stdout.split('\n')) {
    const m = /^([0-7]+) (\S+) ([0-9a-f]{64}) [ *](.+)$/.exec(line);
    if (m) state.set(m[4], { mode: parseInt(m[1], 8), owner: m[2], sha256: m[3] });
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

/** Where SFTP writes each file (home staging is relative: SFTP resolves it against the login dir). */
export const stagedPath = (staging: Staging, item: UploadItem, index: number): string =>
  staging === 'beside-target' ? besideTarget(item.path) : `${HOME_STAGING_DIR}/${index}-${basename(item.path)}`;

/** Creates the folders SFTP writes into. Runs privileged for beside-target staging. */
export const prepareCommand = (staging: Staging, items: readonly UploadItem[]): string =>
  staging === 'beside-target'
    ? `mkdir -p -- ${quoteAll([...new Set(items.map((i) => dirname(i.path)))])}`
    : `rm -rf ${HOME_STAGING_DIR} && mkdir -m 700 ${HOME_STAGING_DIR}`;

const mode = (item: UploadItem): string => (item.mode & 0o7777).toString(8).padStart(4, '0');

/** Moves every sent file into place (checked against its sha256 first) and fixes the metadata of the
 * rest, privileged. `home` is the login user's home for home staging. */
export const installCommand = (staging: Staging, plan: UploadPlan, staged: readonly string[], home = ''): string => {
  const lines = ['set -e'];
  const fromHome = staging === 'home' && plan.send.length > 0;
  if (fromHome) lines.push(`mkdir -p -- ${quoteAll([...new Set(plan.send.map((i) => dirname(i.path)))])}`);
  plan.send.forEach((item, i) => {
    const tmp = besideTarget(item.path);
    if (fromHome) lines.push(`cp -- ${quote(posix.join(home, staged[i]))} ${quote(tmp)}`);
    lines.push(
      `echo ${item.sha256}'  '${quote(tmp)} | sha256sum -c --quiet -`,
      `chown ${quote(item.owner)} ${quote(tmp)} && chmod ${mode(item)} ${quote(tmp)} && mv -f -- ${quote(tmp)} ${quote(item.path)}`,
    );
  });
  for (const item of plan.fix) lines.push(`chown ${quote(item.owner)} ${quote(item.path)} && chmod ${mode(item)} ${quote(item.path)}`);
  if (fromHome) lines.push(`rm -rf -- ${quote(posix.join(home, HOME_STAGING_DIR))}`);
  return lines.join('\n');
};
