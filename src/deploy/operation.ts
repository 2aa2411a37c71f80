// What every command that works on the hosts shares with deploy: the inventory loaded, the cluster
// folder locked, the plan built, one executor; and a run of phases through the same manager, with the
// same task tree (plain lines off a terminal) and a command log in the cluster folder.
import { join } from 'node:path';
import type { ClusterModel } from '../inventory/model.js';
import { loadInventory } from '../inventory/load.js';
import { loadPlanInputs } from '../render/load.js';
import { buildClusterPlan } from '../render/plan.js';
import type { ClusterFiles, ClusterPlan } from '../render/types.js';
import { createExecutor } from '../ssh/executor.js';
import type { Executor } from '../ssh/types.js';
import { withClusterLock } from '../util/cluster-lock.js';
import type { Problem } from '../util/errors.js';
import { openCommandLog } from './command-log.js';
import { createContext } from './context.js';
import { Interrupted, runPhases, type Layout, type TaskOutput } from './manager.js';
import type { DeployContext, DeployOptions, Phase } from './types.js';

export interface Session {
  readonly model: ClusterModel;
  readonly plan: ClusterPlan;
  readonly clusterFiles: ClusterFiles;
  readonly executor: Executor;
}

export interface SessionRequest {
  readonly inventory: string;
  readonly concurrency: number;
  readonly insecureSkipHostKeyCheck?: boolean;
  readonly onWarnings?: (warnings: readonly Problem[]) => void;
  /** The run uploads files (deploy): registry credentials must be in the environment. Other commands plan without them. */
  readonly uploads?: boolean;
  /** Checks on the loaded model before the lock is taken (e.g. --hosts names). */
  readonly check?: (model: ClusterModel) => void;
}

/** Loads the inventory and, holding the cluster folder's lock, builds the plan and an executor for `work`. */
export const withSession = async <T>(req: SessionRequest, work: (session: Session) => Promise<T>): Promise<T> => {
  const { model, warnings } = await loadInventory(req.inventory, { requireBinaries: true });
  req.onWarnings?.(warnings);
  req.check?.(model);
  return withClusterLock(model.clusterDir, async () => {
    const { clusterFiles, binaries, images, registries } = await loadPlanInputs(model, model.clusterDir, { secretsOptional: !req.uploads });
    const plan = buildClusterPlan(model, clusterFiles, binaries, { images, registries, allowMissingSecrets: !req.uploads });
    const executor = createExecutor({
      clusterKnownHosts: join(model.clusterDir, 'known_hosts'),
      concurrency: req.concurrency,
      insecureSkipHostKeyCheck: req.insecureSkipHostKeyCheck,
    });
    return work({ model, plan, clusterFiles, executor });
  });
};

export interface OperationInput {
  readonly session: Session;
  /** Names the log file: `<command>-<time>.log` in the cluster folder's logs. */
  readonly command: string;
  readonly phases: readonly Phase[];
  readonly options: DeployOptions;
  readonly layout: Layout;
  readonly taskOutput?: TaskOutput;
  readonly onDryRun?: (line: string) => void;
}

export interface OperationResult {
  readonly ctx: DeployContext;
  readonly logPath: string;
  /** Milliseconds per completed phase. */
  readonly phaseTimings: ReadonlyMap<string, number>;
  /** Milliseconds of the whole run, log included. */
  readonly durationMs: number;
}

/** Runs the phases (those `options.phases` selects), logging every remote command; closes the executor. */
export const runOperation = async (input: OperationInput): Promise<OperationResult> => {
  const started = Date.now();
  const { session } = input;
  const log = await openCommandLog(session.model.clusterDir, new Date(), input.command);
  session.executor.onExec((e) => log.write(e));
  const ctx = createContext({
    ...session,
    options: input.options,
    onDryRun: (host, description) => input.onDryRun?.(`${host.name}: would ${description}`),
  });
  let phaseTimings: ReadonlyMap<string, number>;
  let logFailure: Error | undefined;
  try {
    phaseTimings = await runPhases(input.phases, ctx, input.layout, input.taskOutput);
  } catch (err) {
    throw input.options.signal.aborted ? new Interrupted() : err;
  } finally {
    await session.executor.close();
    logFailure = await log.close(); // a failed phase is the error to report; a failed log only otherwise
  }
  if (logFailure) throw logFailure;
  return { ctx, logPath: log.path, phaseTimings, durationMs: Date.now() - started };
};
