// One deploy run from already-loaded parts: the command log, the phase manager, Ctrl-C, clean-up.
import type { Host, ClusterModel } from '../inventory/model.js';
import type { ClusterFiles, ClusterPlan } from '../render/types.js';
import type { Executor } from '../ssh/types.js';
import { openCommandLog } from './command-log.js';
import { createContext } from './context.js';
import { Interrupted, runPhases, type Layout, type TaskOutput } from './manager.js';
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
  readonly onDryRun?: (host: Host, description: string) => void;
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
  const started = Date.now();
  const log = await openCommandLog(input.model.clusterDir, new Date(), input.command);
  input.executor.onExec((e) => log.write(e));
  const dryRunLines: string[] = [];
  const ctx = createContext({
    ...input,
    onDryRun: input.onDryRun ?? ((host, description) => void dryRunLines.push(`${host.name}: would ${description}`)),
  });
  let phaseTimings: ReadonlyMap<string, number>;
  let logFailure: Error | undefined;
  try {
    phaseTimings = await runPhases(input.phases ?? PHASES, ctx, input.layout, input.taskOutput);
  } catch (err) {
    throw input.options.signal.aborted ? new Interrupted() : err;
  } finally {
    await input.executor.close();
    logFailure = await log.close(); // a failed phase is the error to report; a failed log only otherwise
  }
  if (logFailure) throw logFailure;
  const inRun = (name: string): boolean => !input.options.hosts || input.options.hosts.has(name);
  return {
    model: input.model,
    summary: summarise(input.plan, ctx.outcomes, inRun),
    logPath: log.path,
    dryRunLines,
    phaseTimings,
    durationMs: Date.now() - started,
  };
};
