// The record of what `certs` issued and checked: for each certificate, a digest of the spec it was judged
// against, its CA and validity; for each file, its sha256 and its identity on disk (inode, size, mtime and
// ctime in ns). A re-run trusts a certificate whose spec, CA and files are as recorded and that is not due
// for renewal, without reading or parsing it; anything else (a file changed, removed, corrupted, a spec or
// CA changed, a missing or unreadable record) goes through the full checks. The record only saves work: it
// is never the reason a certificate is kept that the checks would re-issue.
//
// Files are checked with synchronous calls: for thousands of small files that is 4-8x less CPU than a
// round trip through libuv's pool per call, and it holds one descriptor at a time at any size.
import { createHash } from 'node:crypto';
import { readFileSync, statSync, type BigIntStats } from 'node:fs';
import { join } from 'node:path';
import type { KeyAlgorithm } from '../inventory/model.js';
import { writeFileAtomic } from '../util/fs.js';
import type { CertInstance, KubeconfigInstance, PkiPlan } from './specs.js';
import { SECRET_MODE } from './store.js';

/** Under the cluster folder, beside the binaries' hash cache; deleting it only makes the next run slower. */
export const ISSUED_RECORD = '.cache/issued.json';
const VERSION = 1;

export interface FileEntry {
  readonly identity: string;
  readonly sha256: string;
}

export interface CertEntry {
  /** `specDigest` of the spec it was checked against or issued for. */
  readonly spec: string;
  /** sha256 of the PEM of the CA certificate that signed it. */
  readonly ca: string;
  readonly notBefore: string;
  readonly notAfter: string;
}

export interface IssuedRecord {
  readonly files: Readonly<Record<string, FileEntry>>;
  readonly certs: Readonly<Record<string, CertEntry>>;
  /** Kubeconfig file -> `kubeconfigDigest` of what it was rendered from (its certificate aside). */
  readonly kubeconfigs: Readonly<Record<string, string>>;
}

export const EMPTY_RECORD: IssuedRecord = { files: {}, certs: {}, kubeconfigs: {} };

export const sha256 = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');

const digest = (value: unknown): string => sha256(JSON.stringify(value));

/** Everything `certProblems` compares a leaf with, besides its CA, key match and dates. */
export const specDigest = (c: CertInstance, algorithm: KeyAlgorithm): string =>
  digest([c.id, c.ca, c.spec.profile, c.subject.cn, [...c.subject.o].sort(), [...c.altNames.dnsNames].sort(), [...c.altNames.ipAddresses].sort(), algorithm]);

/** What a kubeconfig is rendered from besides its certificate and key (those are recorded as the certificate). */
export const kubeconfigDigest = (k: KubeconfigInstance, user: string, caSha: string): string => digest([k.clusterName, k.server, user, caSha]);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A missing, unreadable or foreign record is an empty one. */
export const readRecord = (dir: string): IssuedRecord => {
  try {
    const parsed: unknown = JSON.parse(readFileSync(join(dir, ISSUED_RECORD), 'utf8'));
    if (!isObject(parsed) || parsed.version !== VERSION) return EMPTY_RECORD;
    const { files, certs, kubeconfigs } = parsed;
    if (!isObject(files) || !isObject(certs) || !isObject(kubeconfigs)) return EMPTY_RECORD;
    return { files: files as IssuedRecord['files'], certs: certs as IssuedRecord['certs'], kubeconfigs: kubeconfigs as IssuedRecord['kubeconfigs'] };
  } catch {
    return EMPTY_RECORD;
  }
};

const serialize = (record: IssuedRecord): string => JSON.stringify({ version: VERSION, ...record });

/** Written only when it changed: at thousands of hosts it is megabytes, and a no-change re-run should write nothing. */
export const writeRecord = async (dir: string, record: IssuedRecord, previous: IssuedRecord): Promise<void> => {
  const text = serialize(record);
  if (text !== serialize(previous)) await writeFileAtomic(join(dir, ISSUED_RECORD), text, { mode: 0o600, dirMode: 0o700 });
};

/** Changes whenever the file's bytes may have: a rewrite or replacement moves the ctime, which no tool can set back. */
const identityOf = (info: BigIntStats): string => `${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}`;

export interface FileState extends FileEntry {
  /** Permission bits. */
  readonly mode: number;
}

/**
 * Looks at files against the record, each at most once: a file whose identity is recorded is unchanged;
 * one whose identity moved (a chmod, a copy back) is read and is unchanged when its sha256 is recorded.
 */
export const fileChecker = (dir: string, record: IssuedRecord) => {
  const seen = new Map<string, FileState | undefined>();
  const look = (path: string): FileState | undefined => {
    const info = statSync(join(dir, path), { bigint: true, throwIfNoEntry: false });
    if (!info?.isFile()) return undefined;
    const identity = identityOf(info);
    const mode = Number(info.mode & 0o777n);
    const had = record.files[path];
    if (had?.identity === identity) return { identity, sha256: had.sha256, mode };
    return { identity, sha256: sha256(readFileSync(join(dir, path))), mode };
  };
  const state = (path: string): FileState | undefined => {
    if (!seen.has(path)) seen.set(path, look(path));
    return seen.get(path);
  };
  return {
    state,
    /** The file is there with the content the record names. */
    unchanged: (path: string): boolean => {
      const had = record.files[path];
      return had !== undefined && state(path)?.sha256 === had.sha256;
    },
    /** After a run wrote it: its new identity and the hash of what was written. */
    written: (path: string, data: string): FileEntry => {
      const info = statSync(join(dir, path), { bigint: true });
      return { identity: identityOf(info), sha256: sha256(data) };
    },
  };
};
export type FileChecker = ReturnType<typeof fileChecker>;

/** The files a certificate is read from: its own, or the kubeconfig that embeds it. */
const sourcesOf = (c: CertInstance, embeddedIn: ReadonlyMap<string, string>): string[] => (c.files ? [c.files.crt, c.files.key] : [embeddedIn.get(c.id)!]);

export interface ReuseInput {
  readonly plan: PkiPlan;
  readonly algorithm: KeyAlgorithm;
  readonly record: IssuedRecord;
  readonly checker: FileChecker;
  /** sha256 of each kept CA's certificate PEM (a CA created or replaced now has none: its leaves are issued anew). */
  readonly caSha: ReadonlyMap<string, string>;
  /** Within the renewal window, or expired. */
  readonly renewalDue: (c: CertInstance, notAfter: Date) => boolean;
  readonly now: Date;
}

export interface Reuse {
  /** Leaves kept on the record's word: spec, CA and files as recorded, not due for renewal. */
  readonly trusted: ReadonlySet<string>;
  /** Kubeconfigs that need no rendering: certificate trusted, file and inputs as recorded, mode 0600. */
  readonly freshKubeconfigs: ReadonlySet<string>;
  /** Certificates whose kubeconfig is rendered again, so their PEMs must be read even when trusted. */
  readonly renderFor: ReadonlySet<string>;
}

export const recordedReuse = ({ plan, algorithm, record, checker, caSha, renewalDue, now }: ReuseInput): Reuse => {
  const embeddedIn = new Map(plan.kubeconfigs.map((k) => [k.certId, k.file]));
  const trusted = new Set(
    plan.certs
      .filter((c) => {
        const had = record.certs[c.id];
        if (c.spec.ca === 'self' || !had || had.ca !== caSha.get(c.ca) || had.spec !== specDigest(c, algorithm)) return false;
        if (new Date(had.notBefore) > now || renewalDue(c, new Date(had.notAfter))) return false;
        return sourcesOf(c, embeddedIn).every((p) => checker.unchanged(p));
      })
      .map((c) => c.id),
  );
  const byId = new Map(plan.certs.map((c) => [c.id, c]));
  const fresh = plan.kubeconfigs.filter((k) => {
    const c = byId.get(k.certId)!;
    const ca = caSha.get(c.ca);
    return (
      trusted.has(c.id) &&
      ca !== undefined &&
      record.kubeconfigs[k.file] === kubeconfigDigest(k, c.subject.cn, ca) &&
      checker.unchanged(k.file) &&
      checker.state(k.file)!.mode === SECRET_MODE
    );
  });
  const freshKubeconfigs = new Set(fresh.map((k) => k.file));
  return { trusted, freshKubeconfigs, renderFor: new Set(plan.kubeconfigs.filter((k) => !freshKubeconfigs.has(k.file)).map((k) => k.certId)) };
};

export interface NextRecordInput {
  readonly plan: PkiPlan;
  readonly algorithm: KeyAlgorithm;
  readonly record: IssuedRecord;
  readonly checker: FileChecker;
  /** sha256 of every CA's certificate PEM after this run. */
  readonly caSha: ReadonlyMap<string, string>;
  /** The validity of a leaf as it now stands; undefined when unknown (trusted: the record's stands). */
  readonly validity: (c: CertInstance) => { readonly notBefore: Date; readonly notAfter: Date } | undefined;
  /** What this run wrote. */
  readonly written: readonly { readonly path: string; readonly data: string }[];
}

/** The record after a run: every leaf and kubeconfig as it now stands on disk. */
export const nextRecord = ({ plan, algorithm, record, checker, caSha, validity, written }: NextRecordInput): IssuedRecord => {
  const embeddedIn = new Map(plan.kubeconfigs.map((k) => [k.certId, k.file]));
  const data = new Map(written.map((f) => [f.path, f.data]));
  const files: Record<string, FileEntry> = {};
  const addFile = (path: string): void => {
    const w = data.get(path);
    const s = w === undefined ? checker.state(path) : checker.written(path, w);
    if (s) files[path] = { identity: s.identity, sha256: s.sha256 };
  };
  const certs: Record<string, CertEntry> = {};
  for (const c of plan.certs.filter((c) => c.spec.ca !== 'self')) {
    const v = validity(c);
    const entry = v
      ? { spec: specDigest(c, algorithm), ca: caSha.get(c.ca)!, notBefore: v.notBefore.toISOString(), notAfter: v.notAfter.toISOString() }
      : record.certs[c.id];
    if (!entry) continue;
    certs[c.id] = entry;
    for (const p of sourcesOf(c, embeddedIn)) addFile(p);
  }
  const byId = new Map(plan.certs.map((c) => [c.id, c]));
  const kubeconfigs: Record<string, string> = {};
  for (const k of plan.kubeconfigs) {
    const c = byId.get(k.certId)!;
    kubeconfigs[k.file] = kubeconfigDigest(k, c.subject.cn, caSha.get(c.ca)!);
    addFile(k.file);
  }
  return { files, certs, kubeconfigs };
};
