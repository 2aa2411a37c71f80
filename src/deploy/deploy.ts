// The I/O edge of deploy: inventory, cluster folder and binaries in, plan built, executor opened,
// phases run.
import { join } from 'node:path';
import { loadInventory } from '../inventory/load.js';
import type { Problem } from '../util/errors.js';
import { withClusterLock } from '../util/cluster-lock.js';
import { loadPlanInputs } from '../render/load.js';
import { buildClusterPlan } from '../render/plan.js';
import { createExecutor } from '../ssh/executor.js';
import { checkHostsOption } from './hosts.js';
import type { Layout, TaskOutput } from './manager.js';
import { runDeploy, type RunResult } from './run.js';
import type { DeployOptions } from './types.js';

export interface DeployRequest {
  readonly inventory: string;
  readonly options: DeployOptions;
  readonly layout: Layout;
  readonly taskOutput?: TaskOutput;
  readonly insecureSkipHostKeyCheck?: boolean;
  readonly onWarnings?: (warnings: readonly Problem[]) => void;
}

export const deployInventory = async (req: DeployRequest): Promise<RunResult> => {
  const { model, warnings } = await loadInventory(req.inventory, { requireBinaries: true });
  req.onWarnings?.(warnings);
  checkHostsOption(model, req.options.hosts, req.inventory);
  return withClusterLock(model.clusterDir, async () => {
    const { clusterFiles, binaries } = await loadPlanInputs(model);
    const plan = buildClusterPlan(model, clusterFiles, binaries);
    const executor = createExecutor({
      clusterKnownHosts: join(model.clusterDir, 'known_hosts'),
      concurrency: req.options.concurrency,
      insecureSkipHostKeyCheck: req.insecureSkipHostKeyCheck,
    });
    return runDeploy({ model, plan, clusterFiles, executor, options: req.options, layout: req.layout, taskOutput: req.taskOutput });
  });
};
