import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { Option } from 'commander';
import { loadInventory } from '../../inventory/load.js';
import { expandPki } from '../../pki/specs.js';
import { discoverPlan, verifyPki } from '../../pki/verify.js';
import { formatVerifyTable } from '../../pki/verify-report.js';
import { KubeinstallError } from '../../util/errors.js';
import { DEFAULT_INVENTORY, wholeNumber } from '../options.js';
import { printWarnings } from '../output.js';

interface VerifyCliOptions {
  dir?: string;
  inventory?: string;
  output: 'table' | 'json';
  warnWithin: number;
}

/** With an inventory the plan is exact (SANs, servers); with only --dir it is read from the folder names. */
const planFor = async (opts: VerifyCliOptions) => {
  if (opts.dir && !opts.inventory) {
    const dir = resolve(opts.dir);
    return { dir, plan: await discoverPlan(dir), checkInventory: false };
  }
  const { model, warnings } = await loadInventory(opts.inventory ?? DEFAULT_INVENTORY);
  printWarnings(warnings);
  return { dir: resolve(opts.dir ?? model.clusterDir), plan: expandPki(model), checkInventory: true };
};

export const registerVerifyCerts = (program: Command): void => {
  program
    .command('verify-certs')
    .description('check a PKI folder: chains, SANs, usages, key pairs, expiry')
    .option('--dir <dir>', "cluster folder (default: the inventory's clusterDir)")
    .addOption(
      new Option('-i, --inventory <file>', `inventory, to check SANs and servers too (default ${DEFAULT_INVENTORY} when --dir is not given)`).env(
        'KUBEINSTALL_INVENTORY',
      ),
    )
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'))
    .option('--warn-within <days>', 'fail when a certificate expires within this many days', wholeNumber(), 30)
    .addHelpText('after', '\nExamples:\n  kubeinstall verify-certs -i inventory.yaml\n  kubeinstall verify-certs --dir ./prod -o json --warn-within 60')
    .action(async (opts: VerifyCliOptions) => {
      const { dir, plan, checkInventory } = await planFor(opts);
      if (!existsSync(join(dir, 'pki'))) throw new KubeinstallError(`no PKI under ${dir} (create it with \`kubeinstall certs\`)`);
      const rows = await verifyPki(dir, plan, { warnWithinDays: opts.warnWithin, checkInventory });
      process.stdout.write(opts.output === 'json' ? `${JSON.stringify(rows, null, 2)}\n` : formatVerifyTable(rows));
      const bad = rows.filter((r) => r.status !== 'ok');
      if (bad.length) {
        throw new KubeinstallError(
          `${bad.length} of ${rows.length} entries under ${dir} need attention: ${bad
            .map((r) => `${r.name} (${r.status})`)
            .slice(0, 10)
            .join(', ')}${bad.length > 10 ? ', …' : ''}`,
        );
      }
    });
};
