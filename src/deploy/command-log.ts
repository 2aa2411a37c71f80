// The deploy log: every remote command (already redacted by the executor) with its host, step,
// exit code and duration, one line each, in the cluster folder.
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import type { ExecEvent } from '../ssh/types.js';

export const formatLogLine = (e: ExecEvent, at: Date): string =>
  `${at.toISOString()} ${e.host} [${e.step}] exit=${e.code} ${e.durationMs}ms ${JSON.stringify(e.command)}\n`;

export interface CommandLog {
  readonly path: string;
  write(event: ExecEvent): void;
  close(): Promise<void>;
}

export const openCommandLog = (clusterDir: string, startedAt: Date): CommandLog => {
  const dir = join(clusterDir, 'logs');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, `deploy-${startedAt.toISOString().replace(/[:.]/g, '-')}.log`);
  const stream: WriteStream = createWriteStream(path, { flags: 'a', mode: 0o600 });
  return {
    path,
    write: (event) => void stream.write(formatLogLine(event, new Date())),
    close: () => new Promise((resolve) => stream.end(resolve)),
  };
};
