// Thin promises over ssh2 channels: run one command, open SFTP, send one file.
import type { Writable } from 'node:stream';
import type { Client, SFTPWrapper } from 'ssh2';

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

/** Large local files go with SFTP's pipelined parallel writes; `onBytes` reports growth. */
export const putFile = (
  sftp: SFTPWrapper,
  source: { readonly kind: 'inline'; readonly data: Buffer } | { readonly kind: 'local'; readonly localPath: string },
  remote: string,
  onBytes: (delta: number) => void,
): Promise<void> =>
  new Promise((resolve, reject) => {
    const done = (err?: Error | null): void => (err ? reject(err) : resolve());
    if (source.kind === 'inline') {
      sftp.writeFile(remote, source.data, { mode: 0o600 }, (err) => {
        if (!err) onBytes(source.data.length);
        done(err);
      });
      return;
    }
    let sent = 0;
    sftp.fastPut(
      source.localPath,
      remote,
      {
        mode: 0o600,
        concurrency: 64,
        chunkSize: 32 * 1024,
        step: (total) => {
          onBytes(total - sent);
          sent = total;
        },
      },
      done,
    );
  });

/** rename(2) on the server (OpenSSH's posix-rename extension): atomic, and replaces the target. */
export const renameOver = (sftp: SFTPWrapper, from: string, to: string): Promise<void> =>
  new Promise((resolve, reject) => sftp.ext_openssh_rename(from, to, (err) => (err ? reject(err) : resolve())));
