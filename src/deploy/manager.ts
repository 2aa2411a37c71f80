// Runs the phases in order as a listr2 task tree (phase -> host -> step). Each phase runs its hosts
// in parallel up to a bound and lets every host finish, so one run reports every failing host;
// the first phase with a failure stops the deploy.
import { Listr, ListrLogger, PRESET_TIMER, ProcessOutput, type ListrTask } from 'listr2';
import { KubeinstallError } from '../util/errors.js';
import type { HostPlan } from '../render/types.js';
import { outcomeOf, type DeployContext, type Phase, type Step } from './types.js';

export interface HostFailure {
  readonly host: string;
  readonly step: string;
  readonly message: string;
}

export class PhaseFailed extends KubeinstallError {
  constructor(
    readonly phase: string,
    readonly failures: readonly HostFailure[],
    /** A roll's hosts not started because an earlier one failed. */
    readonly untouched: readonly string[] = [],
  ) {
    super(
      `${phase} failed on ${failures.length} host(s):\n${failures.map((f) => `  ${f.host}: ${f.step}: ${indent(f.message)}`).join('\n')}` +
        (untouched.length ? `\n  the roll stopped there: ${untouched.join(', ')} left untouched` : ''),
    );
  }
}

export class Interrupted extends KubeinstallError {
  constructor() {
    super('interrupted: no file was left half-written (uploads are atomic); re-running the same deploy resumes where it stopped', 130);
  }
}

const indent = (text: string): string => text.replace(/\n/g, '\n    ');

/** Plain output prints one line per event, so each line must say where it belongs. */
export type Layout = 'tree' | 'lines';

const label = (layout: Layout, phase: Phase, host: HostPlan | undefined, text: string): string =>
  layout === 'tree' ? text : `[${phase.name}]${host ? ` ${host.host.name}:` : ''} ${text}`;

/** A roll stops at its first failure of a step that changes something: the hosts it has not started are skipped into `untouched`. */
interface Roll {
  stoppedAt?: string;
  readonly untouched: string[];
}

const stepTask = (ctx: DeployContext, phase: Phase, hp: HostPlan, step: Step, failures: HostFailure[], layout: Layout, roll?: Roll): ListrTask => ({
  title: label(layout, phase, hp, step.title),
  task: async (_c, task) => {
    if (ctx.options.signal.aborted) throw new Interrupted();
    try {
      // Progress redraws the step's title at a terminal; plain output prints a line per event, so none there.
      const progress = layout === 'tree' ? (text: string) => void (task.title = `${step.title}: ${text}`) : () => {};
      const result = await step.run(ctx, hp, progress);
      if (result) task.title = label(layout, phase, hp, `${step.title}: ${result}`);
    } catch (err) {
      if (!(err instanceof Interrupted)) failures.push({ host: hp.host.name, step: step.title, message: (err as Error).message });
      if (roll && !step.checksOnly) roll.stoppedAt ??= hp.host.name;
      throw err;
    }
  },
});

/**
 * Sub-lists are returned to listr2, never run() by hand: a sub-list run by hand draws with a renderer of
 * its own, and two renderers redrawing one terminal leave every spinner frame in the scrollback. Work
 * that must follow the subtasks runs when the returned list's run ends.
 */
const followedBy = <L extends Listr<unknown>>(list: L, after: () => Promise<void>): L => {
  const runSubtasks = list.run.bind(list);
  list.run = async (context) => {
    const result = await runSubtasks(context);
    await after();
    return result;
  };
  return list;
};

const hostTask = (ctx: DeployContext, phase: Phase, hp: HostPlan, failures: HostFailure[], layout: Layout, roll?: Roll): ListrTask => ({
  title: label(layout, phase, undefined, hp.host.name),
  task: (_c, task) => {
    if (roll?.stoppedAt) {
      roll.untouched.push(hp.host.name);
      return task.skip(`not started: the roll stopped at ${roll.stoppedAt}`);
    }
    const started = Date.now();
    const steps = task.newListr(
      phase.steps(ctx, hp).map((s) => stepTask(ctx, phase, hp, s, failures, layout, roll)),
      { concurrent: false, exitOnError: true },
    );
    return followedBy(steps, async () => void (outcomeOf(ctx, hp.host).durationsMs[phase.name] = Date.now() - started));
  },
});

const phaseTask = (ctx: DeployContext, phase: Phase, layout: Layout, timings: Map<string, number>): ListrTask => ({
  title: label(layout, phase, undefined, phase.title),
  task: async (_c, task) => {
    const started = Date.now();
    const hosts = phase.hosts(ctx);
    if (hosts.length === 0) return task.skip(label(layout, phase, undefined, `${phase.title}: no host in this run needs it`));
    const failures: HostFailure[] = [];
    const rollSize = phase.roll?.(ctx);
    const roll: Roll | undefined = rollSize === undefined ? undefined : { untouched: [] };
    const concurrency = Math.max(1, rollSize ?? phase.concurrency?.(ctx) ?? ctx.options.concurrency);
    if (roll) task.title = label(layout, phase, undefined, `${phase.title} (rolling, ${concurrency} host(s) at a time)`);
    const hostList = task.newListr(
      hosts.map((hp) => hostTask(ctx, phase, hp, failures, layout, roll)),
      { concurrent: concurrency, exitOnError: false },
    );
    return followedBy(hostList, async () => {
      if (ctx.options.signal.aborted) throw new Interrupted();
      if (failures.length) throw new PhaseFailed(phase.name, failures, roll?.untouched);
      const result = await phase.finish?.(ctx);
      if (result) task.title = label(layout, phase, undefined, `${phase.title}: ${result}`);
      timings.set(phase.name, Date.now() - started);
    });
  },
});

/** Where the task tree goes: stdout, or stderr when stdout carries the result (`deploy -o json`). */
export type TaskOutput = 'stdout' | 'stderr';

/** A renderer's logger with everything on stderr, icons as that renderer has them by default; none: listr2's own. */
const rendererLogger = (output: TaskOutput, useIcons: boolean): { logger?: ListrLogger } =>
  output === 'stderr' ? { logger: new ListrLogger({ useIcons, processOutput: new ProcessOutput(process.stderr, process.stderr) }) } : {};

/** Runs the selected phases; returns how long each completed phase took (ms). */
export const runPhases = async (phases: readonly Phase[], ctx: DeployContext, layout: Layout, output: TaskOutput = 'stdout'): Promise<Map<string, number>> => {
  const selected = phases.filter((p) => ctx.options.phases.has(p.name));
  const timings = new Map<string, number>();
  const timer = { timer: PRESET_TIMER };
  const list = new Listr(
    selected.map((p) => phaseTask(ctx, p, layout, timings)),
    {
      exitOnError: true,
      // Ctrl-C is ours: let the steps in flight finish, then stop (listr2 would exit 127 at once).
      registerSignalListeners: false,
      renderer: layout === 'tree' ? 'default' : 'simple',
      rendererOptions: { ...timer, ...rendererLogger(output, layout === 'tree'), collapseSubtasks: true, collapseErrors: false, showErrorMessage: false },
      fallbackRenderer: 'simple',
      fallbackRendererOptions: { ...timer, ...rendererLogger(output, false) },
    },
  );
  await list.run();
  return timings;
};
