// One deploy run from already-loaded parts: the phases through the shared operation runner, then the summary.
import type { ClusterModel } from '../inventory/model.js';
import type { ClusterFiles, ClusterPlan } from '../render/types.js';
import type { Executor } from '../ssh/types.js';
import type { Layout, TaskOutput } from './manager.js';
import { runOperation } from './operation.js';
import { PHASES } from './phases/index.js';
import { summarise, type DeploySummary } from './summary.js';
import type { DeployOptions, Phase } from './types.js';

export interface RunInput {
  readonly model: ClusterModel;
  readonly plan: ClusterPlan;
  readonly clusterFiles: ClusterFiles;
  readonly executor: Executor;
  readonly options: DeployOptions;
  readonly layout: Layout;
  readonly taskOutput?: TaskOutput;
  readonly phases?: readonly Phase[];
  /** The command the log is named after (`deploy`, or another command run on the same manager). */
  readonly command?: string;
}

export interface RunResult {
  readonly model: ClusterModel;
  readonly summary: DeploySummary;
  readonly logPath: string;
  readonly dryRunLines: readonly string[];
  /** Milliseconds per completed phase. */
  readonly phaseTimings: ReadonlyMap<string, number>;
  /** Milliseconds of the whole run, log included. */
  readonly durationMs: number;
}

export const runDeploy = async (input: RunInput): Promise<RunResult> => {
  const dryRunLines: string[] = [];
  const { ctx, logPath, phaseTimings, durationMs } = await runOperation({
    session: input,
    command: input.command ?? 'deploy',
    phases: input.phases ?? PHASES,
    options: input.options,
    layout: input.layout,
    taskOutput: input.taskOutput,
    onDryRun: (line) => void dryRunLines.push(line),
  });
  const inRun = (name: string): boolean => !input.options.hosts || input.options.hosts.has(name);
  return { model: input.model, summary: summarise(input.plan, ctx.outcomes, inRun), logPath, dryRunLines, phaseTimings, durationMs };
};
