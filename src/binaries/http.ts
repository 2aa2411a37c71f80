// HTTP(S) GETs for `binaries fetch`: small checksum files read whole, and downloads to a partial file that
// a later attempt resumes with a Range request. node:http rather than fetch(): fetch refuses URLs with
// credentials (a mirror's user:password@) and hides the socket's premature end behind a generic error.
import { createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { KubeinstallError } from '../util/errors.js';

const MAX_REDIRECTS = 5;
const SOCKET_TIMEOUT_MS = 60_000;
/** Checksum files are a few lines; anything larger is not one. */
const MAX_TEXT_BYTES = 1024 * 1024;

/** A URL as it may be printed: without user and password. */
export const displayUrl = (url: URL): string => {
  const shown = new URL(url.href);
  shown.username = '';
  shown.password = '';
  return shown.href;
};

export class HttpError extends KubeinstallError {
  constructor(
    readonly url: string,
    readonly status: number,
  ) {
    super(`HTTP ${status} for ${url}`);
  }
}

/** GET following redirects; credentials in the URL become a Basic header, sent to that origin only. */
const request = (url: URL, headers: Record<string, string>, redirects = 0, authOrigin = url.origin, auth = basicAuth(url)): Promise<IncomingMessage> =>
  new Promise((resolve, reject) => {
    const target = new URL(url.href);
    target.username = '';
    target.password = '';
    const sendAuth = auth && target.origin === authOrigin ? { authorization: auth } : {};
    const get = target.protocol === 'https:' ? httpsGet : httpGet;
    const req = get(target, { headers: { 'user-agent': 'kubeinstall', ...headers, ...sendAuth } }, (res) => {
      const status = res.statusCode ?? 0;
      if ([301, 302, 303, 307, 308].includes(status) && res.headers.location) {
        res.resume();
        if (redirects >= MAX_REDIRECTS) return reject(new KubeinstallError(`too many redirects from ${displayUrl(url)}`));
        const next = new URL(res.headers.location, target);
        if (next.protocol !== 'https:' && next.protocol !== 'http:')
          return reject(new KubeinstallError(`${displayUrl(url)} redirects to a ${next.protocol} URL`));
        return resolve(request(next, headers, redirects + 1, authOrigin, auth));
      }
      resolve(res);
    });
    req.setTimeout(SOCKET_TIMEOUT_MS, () => req.destroy(new KubeinstallError(`no data from ${displayUrl(url)} for ${SOCKET_TIMEOUT_MS / 1000} s`)));
    req.on('error', (err) => {
      reject(
        err instanceof KubeinstallError ? err : new KubeinstallError(`cannot GET ${displayUrl(url)}: ${(err as NodeJS.ErrnoException).code ?? err.message}`),
      );
    });
  });

const basicAuth = (url: URL): string | undefined =>
  url.username || url.password
    ? `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`
    : undefined;

export const getText = async (url: URL): Promise<string> => {
  const res = await request(url, {});
  if (res.statusCode !== 200) {
    res.resume();
    throw new HttpError(displayUrl(url), res.statusCode ?? 0);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_TEXT_BYTES) {
      res.destroy();
      throw new KubeinstallError(`${displayUrl(url)} is over ${MAX_TEXT_BYTES} bytes: not a checksum file`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
};

export interface Progress {
  readonly done: number;
  /** Undefined when the server sends no length. */
  readonly total?: number;
  /** Bytes that were already in the partial file when this attempt started. */
  readonly resumedFrom: number;
}

const sizeOf = (path: string): Promise<number> =>
  stat(path).then(
    (s) => s.size,
    () => 0,
  );

/**
 * Downloads `url` into `partPath`, continuing what an earlier attempt left there (HTTP Range); a server that
 * ignores Range (200) gets the whole file again. Fails with the partial file kept when the body ends before
 * its announced length, so the next attempt resumes.
 */
export const downloadTo = async (url: URL, partPath: string, onProgress: (p: Progress) => void): Promise<Progress> => {
  const have = await sizeOf(partPath);
  const res = await request(url, have > 0 ? { range: `bytes=${have}-` } : {});
  const status = res.statusCode ?? 0;
  if (status === 416 && have > 0) {
    // Nothing past what we have: the partial file is whole (or wrong, which the checksum will say).
    res.resume();
    return { done: have, total: have, resumedFrom: have };
  }
  const resumed = status === 206;
  if (status !== 200 && !resumed) {
    res.resume();
    throw new HttpError(displayUrl(url), status);
  }
  const start = resumed ? have : 0;
  if (resumed) {
    const range = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(String(res.headers['content-range'] ?? ''));
    if (!range || Number(range[1]) !== have) {
      res.destroy();
      throw new KubeinstallError(`${displayUrl(url)} answered the range bytes=${have}- with "${res.headers['content-range'] ?? ''}"`);
    }
  }
  const length = res.headers['content-length'] === undefined ? undefined : Number(res.headers['content-length']);
  const total = length === undefined ? undefined : start + length;
  let done = start;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, callback) {
      done += chunk.length;
      onProgress({ done, total, resumedFrom: start });
      callback(null, chunk);
    },
  });
  try {
    await pipeline(res, counter, createWriteStream(partPath, { flags: resumed ? 'a' : 'w', mode: 0o644 }));
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new KubeinstallError(
      `download of ${displayUrl(url)} broke off at ${done}${total ? `/${total}` : ''} bytes (kept; the next attempt resumes): ${reason}`,
    );
  }
  if (total !== undefined && done < total) {
    throw new KubeinstallError(`download of ${displayUrl(url)} ended at ${done}/${total} bytes (kept; the next attempt resumes)`);
  }
  return { done, total: total ?? done, resumedFrom: start };
};
