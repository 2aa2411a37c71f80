// Which planned files a host lacks or holds with other bytes. Dry-run and the real upload share
// this, so what dry-run shows is what upload sends.
//
// Hashing every binary on every host each run costs seconds, so each host keeps a record of the
// hashes kubeinstall left there with each file's size and mtime (as rsync trusts size and mtime):
// a file whose size and mtime still match its record is not hashed again; any other is.
import type { PlannedFile } from '../render/types.js';
import { PENDING_RESTART_DIR } from './facts.js';
import { quote, quoteAll } from '../util/shell.js';

export const HASH_RECORD = '/var/lib/kubeinstall/file-hashes';

interface Stat {
  readonly size: number;
  readonly mtime: number;
}

const STAT_FORMAT = '%s %Y %n';
const SEPARATOR = '--- stat';

/** The record, then the size and mtime of every planned file that exists. */
export const statCommand = (files: readonly PlannedFile[], record = HASH_RECORD): string =>
  `cat ${record} 2>/dev/null; echo '${SEPARATOR}'; stat -c '${STAT_FORMAT}' -- ${quoteAll(files.map((f) => f.path))} 2>/dev/null; true`;

const parseStatLine = (line: string): [string, Stat] | undefined => {
  const m = /^(\d+) (\d+) (.+)$/.exec(line);
  return m ? [m[3]!, { size: Number(m[1]), mtime: Number(m[2]) }] : undefined;
};

export interface RemoteState {
  /** Hashes known without hashing: from the record, for files unchanged since it was written. */
  readonly known: Map<string, string>;
  /** Files that exist but must be hashed to be compared. */
  readonly unknown: string[];
}

/** The record's lines: `<sha256> <size> <mtime> <path>` each. */
export const parseHashRecord = (lines: readonly string[]): Map<string, Stat & { sha256: string }> => {
  const recorded = new Map<string, Stat & { sha256: string }>();
  for (const line of lines) {
    const m = /^([0-9a-f]{64}) (.+)$/.exec(line);
    const stat = m && parseStatLine(m[2]!);
    if (stat) recorded.set(stat[0], { ...stat[1], sha256: m[1]! });
  }
  return recorded;
};

export const parseStatOutput = (stdout: string): RemoteState => {
  const [recordText, statText = ''] = stdout.split(`${SEPARATOR}\n`);
  const recorded = parseHashRecord(recordText!.split('\n'));
  const known = new Map<string, string>();
  const unknown: string[] = [];
  for (const [path, now] of statText
    .split('\n')
    .map(parseStatLine)
    .filter((x): x is [string, Stat] => x !== undefined)) {
    const was = recorded.get(path);
    if (was && was.size === now.size && was.mtime === now.mtime) known.set(path, was.sha256);
    else unknown.push(path);
  }
  return { known, unknown };
};

/** Rewrites the record from `<sha256> <path>` lines on stdin (recordInput, in the order of `files`), with
 * each file's size and mtime now. One `stat` for every file, not one a file: a process per file cost about
 * as much as the rest of a no-change re-run. A line whose path is not the one stat printed next (a file
 * gone) fails the command and leaves the old record; a file missing at the end is left out of it (it is
 * then hashed next time). */
export const recordHashesCommand = (files: readonly PlannedFile[], record = HASH_RECORD): string =>
  `mkdir -p ${record.slice(0, record.lastIndexOf('/'))} && exec 3<&0 && stat -c '${STAT_FORMAT}' -- ${quoteAll(files.map((f) => f.path))} | ` +
  `while read -r size mtime path && read -r sha want <&3; do [ "$path" = "$want" ] || exit 1; echo "$sha $size $mtime $path"; done > ${record}.tmp && ` +
  `mv ${record}.tmp ${record}`;

export const recordInput = (files: readonly PlannedFile[]): string => files.map((f) => `${f.sha256} ${f.path}\n`).join('');

export const remoteHashCommand = (paths: readonly string[]): string => `sha256sum -- ${quoteAll(paths)} 2>/dev/null; true`;

export const parseRemoteHashes = (stdout: string): Map<string, string> =>
  new Map(
    stdout
      .split('\n')
      .map((l) => /^([0-9a-f]{64}) [ *](.+)$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[2]!, m[1]!] as [string, string]),
  );

/** Content is compared by hash; mode and owner are set on every upload of a changed file. */
export const changedFiles = (files: readonly PlannedFile[], remote: ReadonlyMap<string, string>): PlannedFile[] =>
  files.filter((f) => remote.get(f.path) !== f.sha256);

export const unitsRestartedBy = (files: readonly PlannedFile[]): string[] => [...new Set(files.flatMap((f) => f.restarts))].sort();

export const unitsReloadedBy = (files: readonly PlannedFile[]): string[] => [...new Set(files.flatMap((f) => f.reloads ?? []))].sort();

/** Recorded before the upload, so a run stopped half-way still restarts (or reloads) these units next time. */
export const markPendingCommand = (units: readonly string[], dir = PENDING_RESTART_DIR): string =>
  `mkdir -p ${dir} && touch ${units.map((u) => quote(`${dir}/${u}`)).join(' ')}`;
