// The cluster folder on disk: read what exists, write only what changed. Nothing else here touches the disk.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { writeFileAtomic } from '../util/fs.js';
import { parseKubeconfig } from '../kubeconfig/kubeconfig.js';
import { parsePrivateKey } from './keys.js';
import { SERVICE_ACCOUNT_FILES, type CertInstance, type PkiPlan } from './specs.js';
import { parseCertificate, type CertInfo } from './x509.js';

/** Enough for the disk, few enough to stay far from the open-file limit. */
export const IO_CONCURRENCY = 64;

export const mapLimit = async <T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> => {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
};

export const readIfExists = async (path: string): Promise<Buffer | undefined> => {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
};

/** A certificate and key as found on disk, each parsed or with the reason it could not be. */
export interface Material {
  /** Where it was read from, relative to the cluster folder. */
  readonly source: string;
  readonly certPem?: string;
  readonly keyPem?: string;
  readonly cert?: CertInfo;
  readonly key?: KeyObject;
  /** Why the certificate is unusable (absent, truncated, not PEM…); undefined when it parsed. */
  readonly certError?: string;
}

const parseMaterial = (source: string, certPem: string | undefined, keyPem: string | undefined): Material => {
  if (certPem === undefined) return { source, keyPem, key: keyPem ? parsePrivateKey(keyPem) : undefined, certError: 'missing' };
  let cert: CertInfo | undefined;
  let certError: string | undefined;
  try {
    cert = parseCertificate(certPem);
  } catch {
    certError = 'not a readable PEM certificate (truncated or corrupt)';
  }
  return { source, certPem, keyPem, cert, certError, key: keyPem ? parsePrivateKey(keyPem) : undefined };
};

/** Reads each certificate of the plan: from its own files, or from the kubeconfig that embeds it. */
export const readMaterial = async (dir: string, plan: PkiPlan): Promise<Map<string, Material>> => {
  const embeddedIn = new Map(plan.kubeconfigs.map((k) => [k.certId, k.file]));
  const read = async (c: CertInstance): Promise<[string, Material]> => {
    if (c.files) {
      const [crt, key] = await Promise.all([readIfExists(join(dir, c.files.crt)), readIfExists(join(dir, c.files.key))]);
      return [c.id, parseMaterial(c.files.crt, crt?.toString(), key?.toString())];
    }
    const file = embeddedIn.get(c.id)!;
    const text = await readIfExists(join(dir, file));
    if (!text) return [c.id, parseMaterial(file, undefined, undefined)];
    try {
      const k = parseKubeconfig(text.toString());
      return [c.id, parseMaterial(file, k.certPem, k.keyPem)];
    } catch (err) {
      return [c.id, { source: file, certError: `unreadable kubeconfig: ${(err as Error).message}` }];
    }
  };
  return new Map(await mapLimit(plan.certs, IO_CONCURRENCY, read));
};

export const readServiceAccount = async (dir: string): Promise<{ key?: KeyObject; pub?: string }> => {
  const [key, pub] = await Promise.all([readIfExists(join(dir, SERVICE_ACCOUNT_FILES.key)), readIfExists(join(dir, SERVICE_ACCOUNT_FILES.pub))]);
  return { key: key ? parsePrivateKey(key) : undefined, pub: pub?.toString() };
};

export interface OutputFile {
  /** Relative to the cluster folder. */
  readonly path: string;
  readonly data: string;
  readonly mode: number;
}

export const CERT_MODE = 0o644;
export const SECRET_MODE = 0o600;
export const DIR_MODE = 0o700;

const writeOne = async (dir: string, f: OutputFile): Promise<string> => {
  await writeFileAtomic(join(dir, f.path), f.data, { mode: f.mode, dirMode: DIR_MODE });
  return f.path;
};

/** Writes every file (each atomically); returns the paths written. */
export const writeAll = (dir: string, files: readonly OutputFile[]): Promise<string[]> => mapLimit(files, IO_CONCURRENCY, (f) => writeOne(dir, f));

/** Writes each file whose content or mode differs from what is on disk; returns the paths written. */
export const writeChanged = async (dir: string, files: readonly OutputFile[]): Promise<string[]> => {
  const written = await mapLimit(files, IO_CONCURRENCY, async (f) => {
    const path = join(dir, f.path);
    const [current, info] = await Promise.all([readIfExists(path), stat(path).catch(() => undefined)]);
    return current?.toString() === f.data && info && (info.mode & 0o777) === f.mode ? undefined : writeOne(dir, f);
  });
  return written.filter((p): p is string => p !== undefined);
};
