import type { Command } from 'commander';
import { Option } from 'commander';
import { resolve } from 'node:path';
import { loadInventory } from '../../inventory/load.js';
import { loadPlanInputs } from '../../render/load.js';
import { buildClusterPlan } from '../../render/plan.js';
import { planSummary, planTable } from '../../render/summary.js';
import { writePlanTree } from '../../render/write.js';
import { withClusterLock } from '../../util/cluster-lock.js';
import { inventoryOption } from '../options.js';
import { printWarnings } from '../output.js';

export const registerPlan = (program: Command): void => {
  program
    .command('plan')
    .description('show every file and service each host will get, without touching any host')
    .addOption(inventoryOption())
    .option('--dir <dir>', 'cluster folder holding pki/ and kubeconfigs/ (default: the inventory\'s cluster folder)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'))
    .option('--write <dir>', 'also write each host\'s files (keys included) under DIR/hosts/<name>/; DIR must be new, empty or written by an earlier plan --write')
    .addHelpText('after', '\nExamples:\n  kubeinstall plan -i examples/ha.yaml\n  kubeinstall plan -i inventory.yaml -o json --write ./plan')
    .action(async (opts: { inventory: string; dir?: string; output: 'table' | 'json'; write?: string }) => {
      const { model, warnings } = await loadInventory(opts.inventory, { requireBinaries: true });
      printWarnings(warnings);
      const clusterDir = opts.dir ? resolve(opts.dir) : model.clusterDir;
      const show = async (): Promise<void> => {
        const { clusterFiles, binaries } = await loadPlanInputs(model, clusterDir);
        const plan = buildClusterPlan(model, clusterFiles, binaries);
        process.stdout.write(opts.output === 'json' ? JSON.stringify(planSummary(plan), null, 2) + '\n' : planTable(plan));
        if (opts.write) {
          const count = await writePlanTree(plan, resolve(opts.write));
          process.stderr.write(`wrote ${count} files under ${resolve(opts.write)}\n`);
        }
      };
      // --write copies the cluster folder's keys out: not while another run is changing them.
      await (opts.write ? withClusterLock(clusterDir, show) : show());
    });
};
