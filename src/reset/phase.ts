// The per-host reset as steps of the deploy manager: read the record of what kubeinstall placed, then
// each item of the table in order. `resetHosts` runs the same steps outside the task tree, for a
// command that resets hosts as part of its own work (remove, once the host left the cluster).
import type { Host } from '../inventory/model.js';
import { HASH_RECORD, parseHashRecord } from '../deploy/file-diff.js';
import { hostsInRun } from '../deploy/hosts.js';
import { outcomeOf, type DeployContext, type Phase, type Step } from '../deploy/types.js';
import type { HostPlan } from '../render/types.js';
import { RESET_ITEMS, type ResetInput, type ResetItem, type ResetOptions } from './items.js';

/** The paths in the host's record, in its order. */
const readRecord = async (ctx: DeployContext, host: Host): Promise<string[]> => {
  const { stdout } = await ctx.executor.exec(host, `cat ${HASH_RECORD} 2>/dev/null; true`, { step: 'read the record', sudo: true });
  return [...parseHashRecord(stdout.split('\n')).keys()];
};

/** Past a few entries, the count and the first ones: the dry run and the log have every one. */
const SHOWN = 4;
const briefly = (what: readonly string[]): string => (what.length > SHOWN + 1 ? `${what.length}: ${what.slice(0, SHOWN).join(', ')}, …` : what.join(', '));

const itemStep = (item: ResetItem, input: () => ResetInput): Step => ({
  title: item.title,
  run: async (ctx, hp) => {
    const inspect = item.inspect(input());
    if (inspect === undefined) return 'nothing here';
    const { stdout } = await ctx.executor.exec(hp.host, inspect, { step: `${item.title}: inspect`, sudo: true });
    const removal = item.removal(stdout, input());
    if (!removal) return 'nothing here';
    const [verb, done] = removal.verb;
    const what = removal.what.join(', ');
    await ctx.wet(hp.host, `${verb} ${what}`, () => ctx.executor.exec(hp.host, removal.command, { step: item.title, sudo: true }));
    if (ctx.options.dryRun) return `would ${verb} ${what}`;
    const note = `${done} ${briefly(removal.what)}`;
    outcomeOf(ctx, hp.host).notes.push(note);
    return note;
  },
});

/** Every step of one host's reset; the record read by the first is what the others decide from. */
export const resetSteps = (ctx: DeployContext, host: Host, opts: ResetOptions): Step[] => {
  let input: ResetInput | undefined;
  const read: Step = {
    title: 'read the record',
    run: async () => {
      const record = await readRecord(ctx, host);
      input = { ...opts, record, podCidr: ctx.model.podCidr };
      return record.length ? `${record.length} files placed by kubeinstall` : 'no record: no file known to be placed by kubeinstall';
    },
  };
  return [read, ...RESET_ITEMS.map((item) => itemStep(item, () => input!))];
};

export const resetPhase = (opts: ResetOptions): Phase => ({
  name: 'reset',
  title: 'Reset hosts',
  hosts: hostsInRun,
  steps: (ctx, hp) => resetSteps(ctx, hp.host, opts),
});

/** The plan reset runs on: the model's hosts, nothing to upload or start. */
export const hostOnlyPlan = (hosts: readonly Host[]): HostPlan[] => hosts.map((host) => ({ host, files: [], services: [] }));

/**
 * Resets `hosts` with `ctx`'s executor (in parallel, each host's steps in order; a dry run only
 * describes), outside the task tree; resolves to each host's step results, or rejects with the first
 * failure (the executor's error names the host and the step).
 */
export const resetHosts = async (ctx: DeployContext, hosts: readonly Host[], opts: ResetOptions): Promise<Map<string, string[]>> => {
  const done = await Promise.all(
    hostOnlyPlan(hosts).map(async (hp) => {
      const results: string[] = [];
      for (const step of resetSteps(ctx, hp.host, opts)) {
        const result = await step.run(ctx, hp, () => {});
        if (result) results.push(`${step.title}: ${result}`);
      }
      return [hp.host.name, results] as const;
    }),
  );
  return new Map(done);
};
