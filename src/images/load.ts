// The I/O edge of offline images: `<binariesDir>/images/*.tar` read once (names, digests, the archive's own
// sha256 for the upload), cached beside the binaries' hashes by file identity so an unchanged archive is not read again.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { identityOf, readCache, writeCache } from '../util/file-cache.js';
import { UsageError } from '../util/errors.js';
import { archiveContent, NotAnImage, type ArchiveContent } from './archive.js';
import { NotATar, readTarEntries } from './tar.js';

/** The folder of image archives inside the binaries folder. */
export const IMAGES_SUBDIR = 'images';
export const IMAGE_ARCHIVE_SUFFIX = '.tar';

export interface ImageArchive extends ArchiveContent {
  /** The file name in images/, e.g. pause.tar. */
  readonly file: string;
  readonly localPath: string;
  readonly size: number;
  readonly sha256: string;
}

/** Sorted by file name. */
export type ImageIndex = readonly ImageArchive[];

/** The JSON files of an archive are small; its layers are only hashed. */
const KEEP_BYTES = 4 * 1024 * 1024;

export const imageCacheFile = (clusterDir: string): string => join(clusterDir, '.cache', 'images.json');

interface CachedArchive {
  readonly identity: string;
  readonly sha256: string;
  readonly content: ArchiveContent;
}

const isCachedArchive = (v: unknown): v is CachedArchive => {
  const c = v as CachedArchive;
  return typeof v === 'object' && v !== null && typeof c.identity === 'string' && typeof c.sha256 === 'string' && Array.isArray(c.content?.images);
};

const readArchive = async (localPath: string): Promise<{ sha256: string; content: ArchiveContent }> => {
  const { entries, sha256 } = await readTarEntries(localPath, KEEP_BYTES);
  return { sha256, content: archiveContent(entries) };
};

const archiveFiles = async (dir: string): Promise<string[]> => {
  const entries = await readdir(dir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw new UsageError(`cannot read ${dir}: ${err.code ?? err.message}`);
  });
  return entries
    .filter((e) => e.name.endsWith(IMAGE_ARCHIVE_SUFFIX) && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
};

/**
 * Every `*.tar` in `<binariesDir>/images/` with the images it holds. A file that is not an image archive, or two
 * archives naming the same image, is an invalid input (exit 2), found before anything connects.
 */
export const indexImages = async (binariesDir: string, cacheFile?: string): Promise<ImageIndex> => {
  const dir = join(binariesDir, IMAGES_SUBDIR);
  const cache = await readCache(cacheFile, isCachedArchive);
  const next: Record<string, CachedArchive> = {};
  const archives = await Promise.all(
    (await archiveFiles(dir)).map(async (file): Promise<ImageArchive> => {
      const localPath = join(dir, file);
      const info = await stat(localPath, { bigint: true });
      const identity = identityOf(info);
      const cached = cache[localPath];
      let read: { sha256: string; content: ArchiveContent };
      try {
        read = cached?.identity === identity ? cached : await readArchive(localPath);
      } catch (err) {
        if (err instanceof NotATar || err instanceof NotAnImage) throw new UsageError(`${localPath} is not an image archive: ${err.message}`);
        throw err;
      }
      next[localPath] = { identity, ...read };
      return { file, localPath, size: Number(info.size), sha256: read.sha256, ...read.content };
    }),
  );
  const seen = new Map<string, string>();
  for (const a of archives) {
    for (const image of a.images) {
      const other = seen.get(image.name);
      if (other && other !== a.file) throw new UsageError(`${dir}: ${image.name} is in both ${other} and ${a.file}; keep one`);
      seen.set(image.name, a.file);
    }
  }
  await writeCache(cacheFile, cache, next);
  return archives;
};
