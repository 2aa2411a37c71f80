// What `etcd restore` leaves on a member while it runs, and the commands that read and act on it.
//
// The on-host marker (a root-only folder) makes an interrupted restore finish on a re-run:
//   snapshot.db  the snapshot being restored (sent before anything stops)
//   state        `sha256=` of that snapshot and `aside=`, where the member's old data dir goes; written
//                once, after the snapshot is there, so a re-run keeps the first run's aside path
//   restored     the data dir now holds the restored snapshot (written after the rename into place)
// The folder is removed only when etcd and the API servers are healthy again.
import { ETCD_RESTORE_MARKER_DIR } from '../deploy/facts.js';
import { binPath, ETCD_DATA_DIR } from '../render/paths.js';
import { quote, quoteAll } from '../util/shell.js';

export const RESTORE_SNAPSHOT = `${ETCD_RESTORE_MARKER_DIR}/snapshot.db`;
const STATE_FILE = `${ETCD_RESTORE_MARKER_DIR}/state`;
const RESTORED_FLAG = `${ETCD_RESTORE_MARKER_DIR}/restored`;
const RESTORE_LOG = `${ETCD_RESTORE_MARKER_DIR}/restore.log`;

/** `/var/lib/etcd.before-restore-20261201T061502Z`: beside the data dir, on the same file system (a rename). */
export const asidePath = (at: Date): string =>
  `${ETCD_DATA_DIR}.before-restore-${at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}`;

export interface MarkerState {
  /** sha256 of the snapshot an unfinished restore was restoring. */
  readonly sha256?: string;
  readonly aside?: string;
  /** sha256 of the snapshot copy on the member, if there is one. */
  readonly stagedSha256?: string;
}

/** Prints the state file, then the staged copy's sha256, each line prefixed so the two cannot be confused. */
export const readMarkerCommand = `cat ${STATE_FILE} 2>/dev/null; printf 'staged='; sha256sum ${RESTORE_SNAPSHOT} 2>/dev/null | cut -d' ' -f1; true`;

export const parseMarker = (stdout: string): MarkerState => {
  const field = (key: string): string | undefined => new RegExp(`^${key}=(\\S+)$`, 'm').exec(stdout)?.[1];
  const sha256 = field('sha256');
  const aside = field('aside');
  const stagedSha256 = field('staged');
  return { ...(sha256 ? { sha256 } : {}), ...(aside ? { aside } : {}), ...(stagedSha256 ? { stagedSha256 } : {}) };
};

export const prepareMarkerCommand = `install -d -m 0700 ${ETCD_RESTORE_MARKER_DIR}`;

/** Checks the staged copy against the sha256, then records the state once (a re-run keeps the first). */
export const writeMarkerCommand = (sha256: string, aside: string): string =>
  [
    `cd ${ETCD_RESTORE_MARKER_DIR}`,
    `echo ${quote(`${sha256}  snapshot.db`)} | sha256sum -c --quiet -`,
    `{ test -e state || { printf 'sha256=%s\\naside=%s\\n' ${quoteAll([sha256, aside])} > state.tmp && sync state.tmp && mv state.tmp state; }; }`,
  ].join(' && ');

export interface RestoreTarget {
  readonly name: string;
  readonly initialCluster: string;
  readonly token: string;
  readonly peerUrl: string;
  readonly aside: string;
}

/**
 * Replaces the member's data dir with the staged snapshot, idempotently: the old data dir is renamed
 * aside (never deleted), the snapshot restored into a fresh folder beside it and renamed into place,
 * then the `restored` flag written. Run again at any point, it redoes only what is missing: a data dir
 * present while the aside one exists and the flag does not is a restore that stopped half-way, and
 * is restored again. etcdutl restores where it is installed (etcd 3.5+; 3.6 drops `etcdctl snapshot
 * restore`), etcdctl otherwise (etcd 3.4 has no etcdutl).
 */
export const restoreCommand = (t: RestoreTarget): string => {
  const data = ETCD_DATA_DIR;
  const fresh = `${data}.restoring`;
  const flags = quoteAll([
    `--name=${t.name}`,
    `--initial-cluster=${t.initialCluster}`,
    `--initial-cluster-token=${t.token}`,
    `--initial-advertise-peer-urls=${t.peerUrl}`,
    `--data-dir=${fresh}`,
  ]);
  return [
    'set -e',
    `if [ -e ${RESTORED_FLAG} ]; then echo "already restored"; exit 0; fi`,
    `if [ ! -e ${quote(t.aside)} ] && [ -e ${data} ]; then mv ${data} ${quote(t.aside)}; fi`,
    // The old data is aside by now: anything at the data dir is a half-done restore of ours.
    `rm -rf ${data} ${fresh}`,
    `if [ -x ${binPath('etcdutl')} ]; then tool=${binPath('etcdutl')}; else tool=${binPath('etcdctl')}; export ETCDCTL_API=3; fi`,
    `"$tool" snapshot restore ${RESTORE_SNAPSHOT} ${flags} 2>${RESTORE_LOG} || { tail -n 5 ${RESTORE_LOG} >&2; exit 1; }`,
    `chmod 700 ${fresh}`,
    `sync -f ${fresh}`,
    `mv ${fresh} ${data}`,
    `touch ${RESTORED_FLAG}`,
    'echo restored',
  ].join('\n');
};

export const removeMarkerCommand = `rm -rf ${ETCD_RESTORE_MARKER_DIR}`;
