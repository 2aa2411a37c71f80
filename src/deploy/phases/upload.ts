// Uploads each host's planned files, skipping those whose bytes already match. This phase alone decides
// what differs (file-diff.ts, shared with dry-run); the executor sends exactly what it is given.
import type { HostPlan, PlannedFile } from '../../render/types.js';
import type { UploadItem } from '../../ssh/types.js';
import {
  changedFiles,
  markPendingCommand,
  parseRemoteHashes,
  parseStatOutput,
  recordHashesCommand,
  recordInput,
  remoteHashCommand,
  statCommand,
  unitsReloadedBy,
  unitsRestartedBy,
} from '../file-diff.js';
import { PENDING_RELOAD_DIR } from '../facts.js';
import { reachedHosts } from '../hosts.js';
import { outcomeOf, type DeployContext, type Phase } from '../types.js';

const toUploadItem = (f: PlannedFile): UploadItem => ({
  path: f.path,
  mode: f.mode,
  owner: f.owner,
  sha256: f.sha256,
  size: f.size,
  source: f.content,
});

const MIB = 1048576;
const mib = (bytes: number): string => `${(bytes / MIB).toFixed(1)} MiB`;

/** `45.2 of 91.7 MiB`. */
export const uploadProgressText = (done: number, total: number): string => `${(done / MIB).toFixed(1)} of ${mib(total)}`;

const upload = async (ctx: DeployContext, hp: HostPlan, progress: (text: string) => void): Promise<string> => {
  const remote = parseStatOutput((await ctx.executor.exec(hp.host, statCommand(hp.files), { step: 'compare files', sudo: true })).stdout);
  if (remote.unknown.length) {
    const { stdout } = await ctx.executor.exec(hp.host, remoteHashCommand(remote.unknown), { step: 'hash files', sudo: true });
    for (const [path, sha] of parseRemoteHashes(stdout)) remote.known.set(path, sha);
  }
  const changed = changedFiles(hp.files, remote.known);
  const record = (): Promise<unknown> =>
    ctx.executor.exec(hp.host, recordHashesCommand(hp.files), { step: 'record file hashes', sudo: true, stdin: recordInput(hp.files) });
  if (!changed.length) {
    if (remote.unknown.length && !ctx.options.dryRun) await record();
    return `all ${hp.files.length} files already match`;
  }
  const units = unitsRestartedBy(changed);
  const reloads = unitsReloadedBy(changed).filter((u) => !units.includes(u));
  const bytes = changed.reduce((sum, f) => sum + f.size, 0);
  const summary =
    `${changed.length} of ${hp.files.length} files (${mib(bytes)})` +
    `${units.length ? `, then restart ${units.join(', ')}` : ''}${reloads.length ? `, then reload ${reloads.join(', ')}` : ''}`;
  const outcome = outcomeOf(ctx, hp.host);
  outcome.changed.push(...changed.map((f) => f.path));
  await ctx.wet(hp.host, `upload ${summary}: ${changed.map((f) => f.path).join(', ')}`, async () => {
    if (units.length) await ctx.executor.exec(hp.host, markPendingCommand(units), { step: 'record pending restarts', sudo: true });
    if (reloads.length) await ctx.executor.exec(hp.host, markPendingCommand(reloads, PENDING_RELOAD_DIR), { step: 'record pending reloads', sudo: true });
    const report = await ctx.executor.upload(hp.host, changed.map(toUploadItem), {
      step: 'upload files',
      onProgress: (done, total) => progress(uploadProgressText(done, total)),
    });
    outcome.uploaded.push(...report.uploaded);
    await record();
  });
  if (ctx.options.dryRun) return `would upload ${summary}`;
  return `uploaded ${summary}`;
};

export const uploadPhase: Phase = {
  name: 'upload',
  title: 'Upload files',
  hosts: reachedHosts,
  steps: () => [{ title: 'upload', run: upload }],
};
