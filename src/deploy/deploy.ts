// The I/O edge of deploy: inventory, cluster folder and binaries in, plan built, executor opened,
// phases run.
import type { Problem } from '../util/errors.js';
import { UsageError } from '../util/errors.js';
import type { Layout, TaskOutput } from './manager.js';
import { withSession } from './operation.js';
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

export const deployInventory = async (req: DeployRequest): Promise<RunResult> =>
  withSession(
    {
      inventory: req.inventory,
      concurrency: req.options.concurrency,
      insecureSkipHostKeyCheck: req.insecureSkipHostKeyCheck,
      onWarnings: req.onWarnings,
      check: (model) => {
        const unknown = [...(req.options.hosts ?? [])].filter((name) => !model.hosts.some((h) => h.name === name));
        if (unknown.length)
          throw new UsageError(`--hosts: not in ${req.inventory}: ${unknown.join(', ')} (hosts: ${model.hosts.map((h) => h.name).join(', ')})`);
      },
    },
    (session) => runDeploy({ ...session, options: req.options, layout: req.layout, taskOutput: req.taskOutput }),
  );
