import type { Command } from 'commander';
import { Option } from 'commander';
import chalk from 'chalk';
import { resolve } from 'node:path';
import { loadInventory } from '../../inventory/load.js';
import { loadPlanInputs } from '../../render/load.js';
import { renderRoleBinariesHelp } from '../../render/binaries.js';
import { buildClusterPlan } from '../../render/plan.js';
import { NOT_YET_AVAILABLE, planSummary, planTable } from '../../render/summary.js';
import type { ClusterPlan, PendingFile } from '../../render/types.js';
import { writePlanTree } from '../../render/write.js';
import { withClusterLock } from '../../util/cluster-lock.js';
import { inventoryOption } from '../options.js';
import { printWarnings, examples } from '../output.js';

/** One warning per kind of missing input, naming what is missing and the command that makes it. */
const printPendingWarnings = (plan: ClusterPlan, inventory: string, clusterDir: string, binariesDir: string): void => {
  const pending = plan.hosts.flatMap((h) => h.pending ?? []);
  const names = (awaiting: PendingFile['awaiting']) =>
    [...new Set(pending.filter((p) => p.awaiting === awaiting).map((p) => p.from.replace(/^binary /, '')))].sort();
  const binaries = names('binary');
  const pki = names('pki');
  if (binaries.length > 0) {
    const count = `${binaries.length} binar${binaries.length === 1 ? 'y is' : 'ies are'}`;
    const text =
      `warning: ${count} not yet in ${binariesDir} (${binaries.join(', ')}); ` +
      `their hashes are "${NOT_YET_AVAILABLE}": kubeinstall binaries fetch -i ${inventory}`;
    process.stderr.write(`${chalk.yellow(text)}\n`);
  }
  if (pki.length > 0) {
    process.stderr.write(
      `${chalk.yellow(`warning: ${pki.length} PKI file${pki.length === 1 ? ' is' : 's are'} not yet in ${clusterDir}: kubeinstall certs -i ${inventory}`)}\n`,
    );
  }
};

export const registerPlan = (program: Command): void => {
  program
    .command('plan')
    .description('show every file and service each host will get, without touching any host')
    .addOption(inventoryOption())
    .option('--dir <dir>', "cluster folder holding pki/ and kubeconfigs/ (default: the inventory's cluster folder)")
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'))
    .option(
      '--write <dir>',
      "also write each host's files (keys included) under DIR/hosts/<name>/; DIR must be new, empty or written by an earlier plan --write",
    )
    .addHelpText(
      'after',
      '\nWithout the PKI (before `certs`) or the binaries (before `binaries fetch`), the files made from them are listed as\n' +
        `"${NOT_YET_AVAILABLE}", with a warning. The binaries each role needs, in cluster.binariesDir:\n${renderRoleBinariesHelp()}\n` +
        examples('kubeinstall plan -i examples/ha.yaml', 'kubeinstall plan -i inventory.yaml -o json --write ./plan'),
    )
    .action(async (opts: { inventory: string; dir?: string; output: 'table' | 'json'; write?: string }) => {
      const { model, warnings } = await loadInventory(opts.inventory);
      printWarnings(warnings);
      const clusterDir = opts.dir ? resolve(opts.dir) : model.clusterDir;
      const show = async (): Promise<void> => {
        const { clusterFiles, binaries, images, registries } = await loadPlanInputs(model, clusterDir, { allowMissing: true });
        const plan = buildClusterPlan(model, clusterFiles, binaries, { allowMissing: true, images, registries });
        printPendingWarnings(plan, model.inventoryPath, clusterDir, model.binariesDir);
        process.stdout.write(opts.output === 'json' ? `${JSON.stringify(planSummary(plan), null, 2)}\n` : planTable(plan));
        if (opts.write) {
          const count = await writePlanTree(plan, resolve(opts.write));
          process.stderr.write(`wrote ${count} files under ${resolve(opts.write)}\n`);
        }
      };
      // --write copies the cluster folder's keys out: not while another run is changing them.
      await (opts.write ? withClusterLock(clusterDir, show) : show());
    });
};
