// Uploads over one host's connection: every file it is given is staged over SFTP (up to 8 at once),
// then one privileged script moves them into place. Deciding which files differ is the caller's: the
// upload phase knows it from its hash record without hashing, so nothing here compares again. A failure names the file and, when it is one, the full
// file system; it leaves no temporary file beside a target and no staging folder in the home.
import { dirname } from 'node:path';
import type { SFTPWrapper } from 'ssh2';
import type { Host } from '../inventory/model.js';
import { openSftp, putFile, renameOver } from './channel.js';
import { whileAlive, type Connection } from './connection.js';
import type { WithConnection } from './connection-cache.js';
import { ConnectError, SshError } from './errors.js';
import { throttleProgress } from './progress.js';
import type { Redactor } from './redact.js';
import { createSemaphore } from '../util/semaphore.js';
import type { HostTarget } from './target.js';
import type { ExecOptions, ExecResult, UploadItem, UploadOptions, UploadReport } from './types.js';
import {
  besideTarget,
  freeSpaceCommand,
  installCommand,
  parseFreeSpace,
  parseStagingDir,
  prepareCommand,
  removeStagingCommand,
  removeTempFilesCommand,
  stagedPaths,
  stagingFor,
  validateItems,
} from './upload-plan.js';

/** Runs a command on the connection, privileged when asked, throwing on failure unless allowed. */
export type RunOn = (host: Host, target: HostTarget, conn: Connection, command: string, o: ExecOptions) => Promise<ExecResult>;

/** The first file that could not be sent, and where it was being written; `sentSha256` when every byte
 * went but they were not the planned ones. */
interface SendFailure {
  readonly item: UploadItem;
  readonly staged: string;
  readonly err?: Error;
  readonly sentSha256?: string;
}

/** SFTP writes in flight on one host, across its files: about twice sshd's channel window (2 MiB) of
 * WRITE_CHUNK writes, enough to keep the window full while bounding the memory an upload holds. */
const WRITES_IN_FLIGHT = 16;

export const createUploader = (run: RunOn, withConnection: WithConnection, redactor: Redactor, log: (line: string) => void) => {
  /** After a failure no further file is started, and the ones in flight are waited for, so nothing is
   * written after the clean-up. */
  const sendFiles = async (
    conn: Connection,
    sftp: SFTPWrapper,
    send: readonly UploadItem[],
    staged: readonly string[],
    onBytes: (delta: number) => void,
  ): Promise<SendFailure | undefined> => {
    const files = createSemaphore(8);
    const writes = createSemaphore(WRITES_IN_FLIGHT);
    let failure: SendFailure | undefined;
    await Promise.all(
      send.map((item, i) =>
        files.run(async () => {
          if (failure) return;
          await whileAlive(conn, putFile(sftp, item.source, staged[i], writes, onBytes)).then(
            (sentSha256) => void (sentSha256 === item.sha256 || (failure ??= { item, staged: staged[i], sentSha256 })),
            (err: Error) => void (failure ??= { item, staged: staged[i], err }),
          );
        }),
      ),
    );
    return failure;
  };

  /** Why a file could not be sent: SFTP only says "Failure", so a full file system is looked for. */
  const sendFailure = async (
    host: Host,
    target: HostTarget,
    conn: Connection,
    step: string,
    failed: SendFailure,
    stagingDir: string | undefined,
  ): Promise<Error> => {
    if (failed.sentSha256) {
      const from = failed.item.source.kind === 'local' ? failed.item.source.localPath : 'its content';
      return new SshError(
        host.name,
        `${step}: ${failed.item.path}: the bytes sent have sha256 ${failed.sentSha256}, not the planned ${failed.item.sha256} ` +
          `(${from} changed since it was planned); nothing was moved into place`,
      );
    }
    const what = `${step}: sending ${failed.item.path} failed: ${redactor.redact(failed.err!.message)}`;
    if (!conn.alive) return new ConnectError(host.name, what, true);
    const dir = stagingDir ?? dirname(failed.staged);
    const check = { step: `${step}: free space`, sudo: !stagingDir, allowFailure: true, timeoutMs: 30_000 };
    const free = await run(host, target, conn, freeSpaceCommand(dir), check).then(
      (r) => parseFreeSpace(r.stdout),
      () => undefined,
    );
    if (free !== undefined && free < failed.item.size)
      return new SshError(host.name, `${what}: the file system of ${dir} on ${host.name} is full (${free} bytes free, ${failed.item.size} needed)`);
    return new ConnectError(host.name, what, true);
  };

  const cleanUp = async (
    host: Host,
    target: HostTarget,
    conn: Connection,
    step: string,
    send: readonly UploadItem[],
    stagingDir: string | undefined,
  ): Promise<void> => {
    if (!conn.alive) return; // a dropped connection: the next run overwrites the temporary files
    const o = { step: `${step}: clean up`, timeoutMs: 30_000 };
    try {
      if (stagingDir) await run(host, target, conn, removeStagingCommand(stagingDir), o);
      await run(host, target, conn, removeTempFilesCommand(send), { ...o, sudo: true });
    } catch (err) {
      log(`${host.name}: ${step}: clean up after the failure failed: ${(err as Error).message}`);
    }
  };

  const uploadOver = async (host: Host, target: HostTarget, conn: Connection, items: readonly UploadItem[], o: UploadOptions): Promise<UploadReport> => {
    const total = items.reduce((n, i) => n + i.size, 0);
    const staging = stagingFor(target.sudo);
    let stagingDir: string | undefined;
    let sftp: SFTPWrapper | undefined;
    try {
      const prepared = await run(host, target, conn, prepareCommand(staging, items), { step: `${o.step}: prepare`, sudo: staging === 'beside-target' });
      if (staging === 'home') stagingDir = parseStagingDir(host.name, prepared.stdout);
      const staged = stagedPaths(staging, items, stagingDir);
      const s = (sftp = await whileAlive(conn, openSftp(conn.client)));
      const progress = o.onProgress && throttleProgress(o.onProgress);
      let done = 0;
      progress?.(0, total);
      const failed = await sendFiles(conn, s, items, staged, (delta) => progress?.((done += delta), total));
      if (failed) throw await sendFailure(host, target, conn, o.step, failed, stagingDir);
      await run(host, target, conn, installCommand(staging, items, stagingDir), { step: `${o.step}: install`, sudo: true });
      if (staging === 'beside-target') {
        await Promise.all(
          items.map((item) =>
            whileAlive(conn, renameOver(s, besideTarget(item.path), item.path)).catch((err: Error) => {
              throw new ConnectError(host.name, `${o.step}: moving ${item.path} into place failed: ${redactor.redact(err.message)}`, true);
            }),
          ),
        );
      }
    } catch (err) {
      await cleanUp(host, target, conn, o.step, items, stagingDir);
      throw err;
    } finally {
      sftp?.end();
    }
    return { uploaded: items.map((i) => i.path), bytes: total };
  };

  return async (host: Host, items: readonly UploadItem[], o: UploadOptions): Promise<UploadReport> => {
    validateItems(host.name, items);
    if (!items.length) return { uploaded: [], bytes: 0 };
    return withConnection(host, (target, conn) => uploadOver(host, target, conn, items, o));
  };
};
