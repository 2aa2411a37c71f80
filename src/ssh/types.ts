// The contract between the SSH executor and its users (deploy). The executor owns this file.
import type { Writable } from 'node:stream';
import type { Host } from '../inventory/model.js';

/** Hosts worked on at once (`--concurrency`). Each is one connection to its own sshd, so sshd's MaxStartups
 * (about 10 handshakes at once per server) never counts more than one of ours; 32 keeps a deploy's time flat up
 * to 32 hosts (waits for services to become healthy are most of a host's time, and they cost nothing here)
 * while bounding connections and memory at any inventory size. */
export const DEFAULT_CONCURRENCY = 32;

export interface ExecOptions {
  /** What this command is for, shown in errors and logs (e.g. "start etcd"). */
  readonly step: string;
  /** Run through sudo when the host's ssh settings say so (root runs it directly). */
  readonly sudo?: boolean;
  readonly stdin?: string | Buffer;
  readonly timeoutMs?: number;
  /** Do not throw on a non-zero exit; return the result instead. */
  readonly allowFailure?: boolean;
}

export interface UploadOptions {
  /** What these files are, shown in errors and logs (e.g. "upload files"). */
  readonly step: string;
  /** Bytes sent so far of the total to send on this host: at the start, every 1% or 250 ms, and at the end. */
  readonly onProgress?: (done: number, total: number) => void;
}

export interface ExecResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly durationMs: number;
}

export interface UploadItem {
  readonly path: string; // absolute remote path
  readonly mode: number;
  readonly owner: string; // "root:root"
  readonly sha256: string;
  readonly size: number;
  readonly source: { readonly kind: 'inline'; readonly data: Buffer } | { readonly kind: 'local'; readonly localPath: string };
}

export interface UploadReport {
  /** Every item given: which ones differ is the caller's decision. */
  readonly uploaded: readonly string[];
  readonly bytes: number;
}

export interface ExecEvent {
  readonly host: string;
  readonly step: string;
  readonly command: string; // redacted
  readonly code: number;
  readonly durationMs: number;
}

export interface Executor {
  exec(host: Host, command: string, opts: ExecOptions): Promise<ExecResult>;
  upload(host: Host, items: readonly UploadItem[], opts: UploadOptions): Promise<UploadReport>;
  /** Runs a command whose stdout (a file too big to hold, e.g. an etcd snapshot) is piped into `sink` as
   * it arrives; resolves once the sink has finished, with an empty `stdout`. A failure throws as exec's does. */
  execToSink(host: Host, command: string, sink: Writable, opts: ExecOptions): Promise<ExecResult>;
  /** Every remote command, redacted, with its exit code and duration: the deploy log. */
  onExec(listener: (event: ExecEvent) => void): void;
  close(): Promise<void>;
}
