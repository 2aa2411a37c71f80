// The I/O edge of deploy: inventory, cluster folder and binaries in, plan built, executor opened,
// phases run.
import type { Problem } from '../util/errors.js';
import { checkHostsOption } from './hosts.js';
import type { Layout, TaskOutput } from './manager.js';
import { withSession } from './operation.js';
import { readRemovedHosts, updateRemovedHosts } from './removed-record.js';
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

const addedBack = (file: string, index: number, name: string, when: string): Problem => ({
  severity: 'warning',
  file,
  path: `hosts[${index}]`,
  message:
    `${name} was removed with \`kubeinstall remove\` at ${when} and is still in the inventory: ` +
    'this deploy adds it back (delete it from the inventory to keep it out)',
});

export const deployInventory = async (req: DeployRequest): Promise<RunResult> =>
  withSession(
    {
      inventory: req.inventory,
      concurrency: req.options.concurrency,
      uploads: true,
      insecureSkipHostKeyCheck: req.insecureSkipHostKeyCheck,
      onWarnings: req.onWarnings,
      check: (model) => checkHostsOption(model, req.options.hosts, req.inventory),
    },
    async (session) => {
      const { model } = session;
      const removed = await readRemovedHosts(model.clusterDir);
      const back = model.hosts.filter((h) => removed[h.name] && (!req.options.hosts || req.options.hosts.has(h.name)));
      req.onWarnings?.(back.map((h) => addedBack(req.inventory, model.hosts.indexOf(h), h.name, removed[h.name]!)));
      const result = await runDeploy({ ...session, options: req.options, layout: req.layout, taskOutput: req.taskOutput });
      if (!req.options.dryRun) await updateRemovedHosts(model.clusterDir, { forget: back.map((h) => h.name) });
      return result;
    },
  );
