// File writes that never leave a half-written file: write a temp file beside the target, then rename.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';

export interface WriteOptions {
  readonly mode: number;
  /** Refuse (EEXIST) instead of replacing an existing file. */
  readonly exclusive?: boolean;
  readonly dirMode?: number;
}

export const writeFileAtomic = async (path: string, data: string | Uint8Array, opts: WriteOptions): Promise<void> => {
  await mkdir(dirname(path), { recursive: true, mode: opts.dirMode ?? 0o755 });
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  // A fresh file of our own: O_EXCL fails on anything already there, a symlink planted under the name included.
  const handle = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, opts.mode);
  try {
    await handle.writeFile(data);
    await handle.chmod(opts.mode); // the umask may have narrowed the mode open() applied
    await handle.sync();
  } catch (err) {
    await handle.close();
    await rm(tmp, { force: true });
    throw err;
  }
  await handle.close();
  if (opts.exclusive) {
    // link() fails when the target exists, so two racing writers cannot both win.
    try {
      await link(tmp, path);
    } finally {
      await rm(tmp, { force: true });
    }
    return;
  }
  await rename(tmp, path);
};
