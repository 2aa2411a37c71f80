// Thin promises over ssh2 channels: run one command, open SFTP, send one file.
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import type { Client, SFTPWrapper } from 'ssh2';
import type { Semaphore } from '../util/semaphore.js';
import type { UploadItem } from './types.js';

export interface RawResult {
  /** Exit code; undefined when the connection dropped before the command ended. */
  readonly code?: number;
  readonly timedOut: boolean;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs one command; its stdout is kept, or with `sink` piped there as it arrives (flow-controlled, never held
 * in memory; `stdout` is then empty) and the result waits until the sink has taken every byte. */
export const runCommand = (client: Client, command: string, stdin: string | Buffer | undefined, timeoutMs: number, sink?: Writable): Promise<RawResult> =>
  new Promise((resolve, reject) => {
    client.exec(command, (err, stream) => {
      if (err) return reject(err);
      const out: Buffer[] = [];
      const errOut: Buffer[] = [];
      const settle = (code: number | undefined, timedOut: boolean): void => {
        clearTimeout(timer);
        const result = { code, timedOut, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(errOut).toString('utf8') };
        if (!sink || timedOut || sink.writableFinished) {
          resolve(result);
          return;
        }
        sink.once('finish', () => resolve(result));
        sink.once('error', reject);
      };
      // Give up at once: sshd may ignore the signal, and closing waits for the remote side.
      const timer = setTimeout(() => {
        stream.signal('KILL');
        stream.close();
        settle(undefined, true);
      }, timeoutMs);
      if (sink) stream.pipe(sink);
      else stream.on('data', (d: Buffer) => out.push(d));
      stream.stderr.on('data', (d: Buffer) => errOut.push(d));
      stream.on('close', (code: number | null | undefined) => settle(typeof code === 'number' ? code : undefined, false));
      stream.end(stdin ?? '');
    });
  });

export const openSftp = (client: Client): Promise<SFTPWrapper> =>
  new Promise((resolve, reject) => client.sftp((err, sftp) => (err ? reject(err) : resolve(sftp))));

/** One SFTP write: OpenSSH's sftp-server takes up to 255 KiB (its `limits@openssh.com` write length), and
 * fewer, larger writes cost Node a third less CPU per byte than 32 KiB ones (measured, bench:ssh). */
export const WRITE_CHUNK = 255 * 1024;

const call = <T = void>(start: (cb: (err: Error | null | undefined, value: T) => void) => void): Promise<T> =>
  new Promise((resolve, reject) => start((err, value) => (err ? reject(err) : resolve(value))));

/** Sends one file and resolves to the sha256 of the bytes it sent, hashed as they were read (the caller
 * compares it with the planned one: a local file may have changed since it was planned). A local file is
 * read in order, WRITE_CHUNK at a time, each chunk written as soon as it holds one of `slots` (the writes a
 * host's upload keeps in flight, shared by its files, so memory stays bounded however many go at once);
 * `onBytes` reports each acknowledged write. After a failed write no further one starts, and the ones in
 * flight are waited for, so nothing is written after the caller cleans up. */
export const putFile = async (
  sftp: SFTPWrapper,
  source: UploadItem['source'],
  remote: string,
  slots: Semaphore,
  onBytes: (delta: number) => void,
): Promise<string> => {
  const hash = createHash('sha256');
  if (source.kind === 'inline') {
    await call((cb) => sftp.writeFile(remote, source.data, { mode: 0o600 }, cb));
    onBytes(source.data.length);
    return hash.update(source.data).digest('hex');
  }
  const handle = await call<Buffer>((cb) => sftp.open(remote, 'w', { mode: 0o600 }, cb));
  const writes = new Set<Promise<void>>();
  let failed: Error | undefined;
  try {
    // The local file is closed once read, not after the last acknowledgement: on a connection that died
    // the remote close may never call back, and the file handle must not wait for it.
    const local = await open(source.localPath, 'r');
    try {
      for (let at = 0; !failed; ) {
        const release = await slots.acquire();
        const { bytesRead, buffer } = await local.read(Buffer.allocUnsafe(WRITE_CHUNK), 0, WRITE_CHUNK, at);
        if (!bytesRead || failed) {
          release();
          break;
        }
        const chunk = buffer.subarray(0, bytesRead);
        hash.update(chunk);
        const write: Promise<void> = call((cb) => sftp.write(handle, chunk, 0, bytesRead, at, cb))
          .then(
            () => onBytes(bytesRead),
            (err: Error) => void (failed ??= err),
          )
          .finally(() => {
            release();
            writes.delete(write);
          });
        writes.add(write);
        at += bytesRead;
      }
    } finally {
      await local.close();
    }
  } finally {
    await Promise.all(writes);
    await call((cb) => sftp.close(handle, cb)).catch((err: Error) => void (failed ??= err));
  }
  if (failed) throw failed;
  return hash.digest('hex');
};

/** rename(2) on the server (OpenSSH's posix-rename extension): atomic, and replaces the target. */
export const renameOver = (sftp: SFTPWrapper, from: string, to: string): Promise<void> =>
  new Promise((resolve, reject) => sftp.ext_openssh_rename(from, to, (err) => (err ? reject(err) : resolve())));
