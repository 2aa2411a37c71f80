import type { Command } from 'commander';
import { Option } from 'commander';
import { loadInventory } from '../../inventory/load.js';
import { maskSecrets } from '../../inventory/mask.js';
import { inventoryOption } from '../options.js';
import { printWarnings } from '../output.js';

export const registerInventory = (program: Command): void => {
  const inventory = program.command('inventory').description('inspect an inventory');
  inventory
    .command('check')
    .description('validate an inventory and print the resolved cluster model')
    .addOption(inventoryOption())
    .addOption(new Option('-o, --output <format>', 'output format').choices(['yaml', 'json']).default('yaml'))
    .option('--require-binaries', 'also check that the binaries folder exists (as deploy does)')
    .addHelpText('after', '\nExample:\n  kubeinstall inventory check -i examples/ha.yaml -o json')
    .action(async (opts: { inventory: string; output: 'yaml' | 'json'; requireBinaries?: boolean }) => {
      const { model, warnings } = await loadInventory(opts.inventory, { requireBinaries: opts.requireBinaries });
      printWarnings(warnings);
      const shown = maskSecrets(model);
      if (opts.output === 'json') {
        process.stdout.write(`${JSON.stringify(shown, null, 2)}\n`);
      } else {
        const { default: yaml } = await import('js-yaml');
        process.stdout.write(yaml.dump(shown, { noRefs: true, lineWidth: 120 }));
      }
    });
};
