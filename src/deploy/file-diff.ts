// Which planned files a host lacks or holds with other bytes, from one `sha256sum` over all of them.
// Dry-run and the real upload share this, so what dry-run shows is what upload sends.
import type { PlannedFile } from '../render/types.js';
import { PENDING_RESTART_DIR } from './facts.js';
import { quote, quoteAll } from './shell.js';

export const remoteHashCommand = (files: readonly PlannedFile[]): string =>
  `sha256sum -- ${quoteAll(files.map((f) => f.path))} 2>/dev/null; true`;

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

/** Recorded before the upload, so a run stopped half-way still restarts these units next time. */
export const markPendingCommand = (units: readonly string[]): string =>
  `mkdir -p ${PENDING_RESTART_DIR} && touch ${units.map((u) => quote(`${PENDING_RESTART_DIR}/${u}`)).join(' ')}`;
