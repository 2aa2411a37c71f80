// Offline images into containerd's k8s.io namespace (the one the kubelet's CRI uses) with ctr, after containerd
// and before the kubelet starts. An archive is imported only when one of its images is missing or listed with
// another digest, so a re-run imports nothing. What the archives hold was read locally (src/images).
import type { HostPlan, PlannedImageArchive } from '../render/types.js';
import { UNITS } from '../render/units.js';
import { KubeinstallError } from '../util/errors.js';
import { CRI_NAMESPACE, CTR, importImageCommand, listImagesCommand, parseImageList } from './ctr.js';
import { startUnits, waitRemote } from './services.js';
import { outcomeOf, type DeployContext, type Step } from './types.js';

/** The archives with an image the host does not list with the archive's digest. */
export const archivesToImport = (archives: readonly PlannedImageArchive[], present: ReadonlyMap<string, string>): PlannedImageArchive[] =>
  archives.filter((a) => a.images.some((i) => present.get(i.name) !== i.digest));

const names = (archives: readonly PlannedImageArchive[]): string => archives.flatMap((a) => a.images.map((i) => i.name)).join(', ');

const listImages = async (ctx: DeployContext, hp: HostPlan): Promise<Map<string, string>> => {
  const { stdout } = await ctx.executor.exec(hp.host, listImagesCommand, { step: 'list images', sudo: true });
  return parseImageList(stdout.split('\n'));
};

/** Whether containerd ran before this run and still runs untouched by it: what the facts saw is what it holds. */
const containerdUntouched = (ctx: DeployContext, hp: HostPlan): boolean =>
  ctx.facts.get(hp.host.name)?.unitStates.get(UNITS.containerd) === 'active' && !outcomeOf(ctx, hp.host).restarted.includes(UNITS.containerd);

/**
 * containerd (re)started when it must, then waited for until its socket answers ctr (what the import needs; `systemctl
 * is-active` comes earlier). Untouched, it is not asked anything: a re-run spends no command here.
 */
export const startContainerdStep: Step = {
  title: 'start containerd',
  run: async (ctx, hp) => {
    const units = hp.services.filter((s) => s.unit === UNITS.containerd).map((s) => s.unit);
    const line = await startUnits(ctx, hp, units);
    if (units.length && !containerdUntouched(ctx, hp)) await waitRemote(ctx, hp, units, `${CTR} version >/dev/null`);
    return line;
  },
};

/** What containerd holds: as the facts saw it while this run has not restarted containerd (a re-run asks nothing more), else asked. */
const imagesNow = async (ctx: DeployContext, hp: HostPlan): Promise<ReadonlyMap<string, string>> =>
  containerdUntouched(ctx, hp) ? (ctx.facts.get(hp.host.name)?.images ?? new Map()) : listImages(ctx, hp);

const importImages = async (ctx: DeployContext, hp: HostPlan): Promise<string> => {
  const archives = hp.images ?? [];
  if (!archives.length) return 'no archives in images/';
  if (ctx.options.dryRun) {
    // containerd may not run yet: the facts tell what it held
    const todo = archivesToImport(archives, ctx.facts.get(hp.host.name)?.images ?? new Map());
    return todo.length ? `would import ${names(todo)}` : `all ${archives.length} archive(s) already imported`;
  }
  const todo = archivesToImport(archives, await imagesNow(ctx, hp));
  if (!todo.length) return `nothing to import: ${names(archives)} already in containerd (${CRI_NAMESPACE})`;
  for (const a of todo) {
    const res = await ctx.executor.exec(hp.host, importImageCommand(a), { step: `import ${a.file}`, sudo: true, allowFailure: true });
    if (res.code !== 0) {
      throw new KubeinstallError(`${hp.host.name}: ctr could not import ${a.file} (${a.path}): ${res.stderr.trim() || `exit code ${res.code}`}`);
    }
  }
  const outcome = outcomeOf(ctx, hp.host);
  outcome.notes.push(`images imported: ${names(todo)}`);
  // A digest containerd computed otherwise than src/images/archive.ts would make every run import again: say so.
  const after = await listImages(ctx, hp);
  const differ = todo.flatMap((a) => a.images.filter((i) => after.get(i.name) !== i.digest));
  for (const i of differ) outcome.notes.push(`${i.name}: containerd lists ${after.get(i.name) ?? 'nothing'}, not ${i.digest}; it is imported on every run`);
  return `imported ${names(todo)}${differ.length ? ` (${differ.length} listed with another digest)` : ''}`;
};

export const importImagesStep: Step = { title: 'import images', run: importImages };
