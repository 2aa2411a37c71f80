import type { Command } from 'commander';
import { Option } from 'commander';
import { withInterrupt, plainOutput } from '../interrupt.js';
import { concurrencyOption, inventoryOption, list } from '../options.js';
import { examples, printWarnings } from '../output.js';

interface ResetFlags {
  inventory: string;
  hosts?: string;
  yes?: boolean;
  purgeData?: boolean;
  dryRun?: boolean;
  concurrency: number;
  insecureSkipHostKeyCheck?: boolean;
}

export const registerReset = (program: Command): void => {
  program
    .command('reset')
    .description('undo deploy on hosts: stop its units, remove every file it placed, its iptables chains and state (etcd data kept aside)')
    .addOption(inventoryOption())
    .option('--hosts <names>', 'only these hosts (comma-separated inventory names)')
    .option('--yes', 'do not ask for confirmation (required when not run at a terminal)')
    .option('--purge-data', "delete etcd's data instead of keeping it aside")
    .option('--dry-run', 'connect and read, then list per host what would go, changing nothing')
    .addOption(concurrencyOption())
    .addOption(new Option('--insecure-skip-host-key-check', 'do not verify SSH host keys (warned about on every run)'))
    .addHelpText(
      'after',
      examples(
        'kubeinstall reset -i inventory.yaml --dry-run',
        'kubeinstall reset -i inventory.yaml --hosts node-3 --yes',
        'kubeinstall reset -i inventory.yaml --yes --purge-data',
      ),
    )
    .action((flags: ResetFlags) =>
      withInterrupt(async (signal) => {
        // Loaded on use: the SSH stack is only needed here.
        const { resetInventory } = await import('../../reset/reset.js');
        const dryRun = flags.dryRun === true;
        const result = await resetInventory({
          inventory: flags.inventory,
          hosts: flags.hosts ? new Set(list(flags.hosts)) : undefined,
          yes: flags.yes === true,
          purgeData: flags.purgeData === true,
          dryRun,
          concurrency: flags.concurrency,
          layout: plainOutput() ? 'lines' : 'tree',
          signal,
          insecureSkipHostKeyCheck: flags.insecureSkipHostKeyCheck,
          onWarnings: printWarnings,
        });
        const lines = dryRun
          ? [
              ...result.dryRunLines,
              ...result.summary.hosts.filter((h) => !result.dryRunLines.some((l) => l.startsWith(`${h.name}: `))).map((h) => `${h.name}: nothing to reset`),
            ]
          : result.summary.hosts.map((h) => `${h.name}: ${h.notes.length ? h.notes.join('; ') : 'nothing to reset'}`);
        process.stdout.write(`${[...lines, `log: ${result.logPath}`].join('\n')}\n`);
      }),
    );
};
