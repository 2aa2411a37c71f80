// The deploy log: every remote command (already redacted by the executor) with its host, step,
// exit code and duration, one line each, in the cluster folder. It is opened before any host is
// contacted, so a folder it cannot be written to stops the run before it changes anything; a write
// that fails later (a full disk) is kept and reported when the log is closed.
import { mkdir, open } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import { join } from 'node:path';
import type { ExecEvent } from '../ssh/types.js';
import { KubeinstallError, systemReason } from '../util/errors.js';

export const formatLogLine = (e: ExecEvent, at: Date): string =>
  `${at.toISOString()} ${e.host} [${e.step}] exit=${e.code} ${e.durationMs}ms ${JSON.stringify(e.command)}\n`;

export interface CommandLog {
  readonly path: string;
  write(event: ExecEvent): void;
  /** Flushes and closes the log; resolves to the first write failure, if any. */
  close(): Promise<KubeinstallError | undefined>;
}

const cannotWrite = (command: string, path: string, reason: string): KubeinstallError =>
  new KubeinstallError(`cannot write the ${command} log ${path}: ${reason}`);

/** `command` names the log (`deploy`, `etcd-restore`...): one log file per run of any command that works on the hosts. */
export const openCommandLog = async (clusterDir: string, startedAt: Date, command = 'deploy'): Promise<CommandLog> => {
  const dir = join(clusterDir, 'logs');
  const path = join(dir, `${command}-${startedAt.toISOString().replace(/[:.]/g, '-')}.log`);
  await mkdir(dir, { recursive: true, mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
    throw cannotWrite(command, path, err.code === 'EEXIST' ? `${dir} is not a folder` : systemReason(err));
  });
  const handle = await open(path, 'a', 0o600).catch((err: unknown) => {
    throw cannotWrite(command, path, systemReason(err));
  });
  const stream = handle.createWriteStream();
  let failure: KubeinstallError | undefined;
  stream.on('error', (err) => (failure ??= cannotWrite(command, path, systemReason(err))));
  return {
    path,
    write: (event) => void (failure || stream.write(formatLogLine(event, new Date()))),
    close: async () => {
      stream.end();
      await finished(stream).catch(() => undefined); // the error listener above has kept the cause
      return failure;
    },
  };
};
