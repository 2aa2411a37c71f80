// A recording fake of the Executor, so phase logic is tested in milliseconds without hosts or root
// (k0sctl tests its phases against a mock runner the same way). It answers from a script of canned
// replies chosen by host and command pattern, records every call in order, and refuses anything
// the script does not name: a phase that runs a command its test did not expect fails the test.
import { RemoteCommandError } from '../../ssh/errors.js';
import type { ExecEvent, ExecOptions, ExecResult, Executor, UploadItem, UploadReport } from '../../ssh/types.js';
import type { Host } from '../../inventory/model.js';

export interface Reply {
  readonly code?: number;
  readonly stdout?: string;
  readonly stderr?: string;
  /** The call fails as a lost or refused connection does: this error is thrown, no exit code. */
  readonly error?: Error;
}

export interface Rule {
  /** Only for this host (inventory name); any host when left out. */
  readonly host?: string;
  readonly command: RegExp;
  /** A function sees the call and what was recorded before it (e.g. to answer from the cluster's state). */
  readonly reply: Reply | ((call: ExecCall, calls: readonly Call[]) => Reply);
}

interface Recorded {
  readonly host: string;
  /** Order in which calls were made, over all hosts. */
  readonly seq: number;
  /** On the same counter: when the answer was given (unset while the call is in flight). */
  answered?: number;
}

export interface ExecCall extends Recorded {
  readonly kind: 'exec';
  readonly command: string;
  readonly opts: ExecOptions;
}

export interface UploadCall extends Recorded {
  readonly kind: 'upload';
  readonly step: string;
  readonly paths: readonly string[];
}

export type Call = ExecCall | UploadCall;

export interface FakeExecutor extends Executor {
  readonly calls: readonly Call[];
  /** Every call the script did not allow, also thrown at the phase that made it. */
  readonly unexpected: readonly string[];
  readonly closed: boolean;
  /** The exec calls, optionally of one host. */
  execs(host?: string): ExecCall[];
  uploads(): UploadCall[];
}

export interface FakeScript {
  readonly exec: readonly Rule[];
  /** Uploads are refused unless allowed: every item is then reported as uploaded. */
  readonly acceptUploads?: boolean;
  /** Each call's round trip, as a host over a network would take (bench/scale.bench.ts); default: one turn of the event loop. */
  readonly latencyMs?: number;
}

/** One turn of the event loop, as a network round trip: hosts running in parallel interleave as on a real run. */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export const fakeExecutor = (script: FakeScript): FakeExecutor => {
  const { latencyMs } = script;
  const roundTrip = latencyMs ? (): Promise<void> => new Promise((resolve) => setTimeout(resolve, latencyMs)) : nextTurn;
  const calls: Call[] = [];
  const unexpected: string[] = [];
  const listeners: ((e: ExecEvent) => void)[] = [];
  let counter = 0;
  let closed = false;

  const refuse = (what: string): never => {
    unexpected.push(what);
    throw new Error(`fake executor: unexpected ${what}`);
  };

  const exec = async (host: Host, command: string, opts: ExecOptions): Promise<ExecResult> => {
    const call: ExecCall = { kind: 'exec', host: host.name, seq: ++counter, command, opts };
    calls.push(call);
    await roundTrip();
    call.answered = ++counter;
    const rule = script.exec.find((r) => (r.host === undefined || r.host === host.name) && r.command.test(command));
    if (!rule) return refuse(`command on ${host.name} [${opts.step}]: ${command}`);
    const reply = typeof rule.reply === 'function' ? rule.reply(call, calls) : rule.reply;
    if (reply.error) throw reply.error;
    const result: ExecResult = { code: reply.code ?? 0, stdout: reply.stdout ?? '', stderr: reply.stderr ?? '', durationMs: 0 };
    for (const l of listeners) l({ host: host.name, step: opts.step, command, code: result.code, durationMs: 0 });
    // As the real executor: a non-zero exit is an error unless the caller accepts failure.
    if (result.code !== 0 && !opts.allowFailure) throw new RemoteCommandError(host.name, opts.step, command, result.code, result.stderr.trimEnd());
    return result;
  };

  return {
    calls,
    unexpected,
    get closed() {
      return closed;
    },
    execs: (host) => calls.filter((c): c is ExecCall => c.kind === 'exec' && (host === undefined || c.host === host)),
    uploads: () => calls.filter((c): c is UploadCall => c.kind === 'upload'),

    exec,

    // Scripted like exec: the reply's stdout is what the sink receives.
    execToSink: async (host, command, sink, opts) => {
      const result = await exec(host, command, opts);
      await new Promise<void>((resolve, reject) => sink.end(result.stdout, () => resolve()).once('error', reject));
      return { ...result, stdout: '' };
    },

    upload: async (host: Host, items: readonly UploadItem[], opts: { readonly step: string }): Promise<UploadReport> => {
      const call: UploadCall = { kind: 'upload', host: host.name, seq: ++counter, step: opts.step, paths: items.map((i) => i.path) };
      calls.push(call);
      await roundTrip();
      call.answered = ++counter;
      if (!script.acceptUploads) return refuse(`upload to ${host.name} [${opts.step}]: ${call.paths.join(', ')}`);
      return { uploaded: call.paths, bytes: items.reduce((sum, i) => sum + i.size, 0) };
    },

    onExec: (listener) => void listeners.push(listener),
    close: async () => {
      closed = true;
    },
  };
};
