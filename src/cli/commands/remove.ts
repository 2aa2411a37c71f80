import type { Command } from 'commander';
import { Option } from 'commander';
import chalk from 'chalk';
import { confirmDestructive } from '../confirm.js';
import { plainOutput, withInterrupt } from '../interrupt.js';
import { duration, concurrencyOption, inventoryOption } from '../options.js';
import { examples, printWarnings } from '../output.js';

interface RemoveFlags {
  inventory: string;
  yes?: boolean;
  force?: boolean;
  /** Milliseconds. */
  timeout: number;
  concurrency: number;
  insecureSkipHostKeyCheck?: boolean;
}

export const registerRemove = (program: Command): void => {
  program
    .command('remove')
    .description('take hosts out of the cluster: drain and delete their Nodes, remove them from etcd, stop their services (files stay)')
    .argument('<hosts...>', 'inventory host names')
    .addOption(inventoryOption())
    .option('--yes', 'do not ask for confirmation')
    .option('--force', 'also evict pods no controller manages (they are lost)')
    .addOption(
      new Option('--timeout <duration>', 'how long to wait for evictions and for etcd (seconds, or 90s, 2m)').argParser(duration).default(300_000, '5m'),
    )
    .addOption(concurrencyOption())
    .addOption(new Option('--insecure-skip-host-key-check', 'do not verify SSH host keys (warned about on every run)'))
    .addHelpText('after', examples('kubeinstall remove -i inventory.yaml node-3', 'kubeinstall remove -i inventory.yaml etcd-4 etcd-5 --yes'))
    .action(async (hosts: string[], flags: RemoveFlags) => {
      await withInterrupt(async (signal) => {
        // Loaded on use: the SSH stack is only needed by the commands that reach hosts.
        const { removeHosts } = await import('../../deploy/remove.js');
        const result = await removeHosts({
          inventory: flags.inventory,
          hosts,
          force: flags.force === true,
          drainTimeoutMs: flags.timeout,
          concurrency: flags.concurrency,
          layout: plainOutput() ? 'lines' : 'tree',
          insecureSkipHostKeyCheck: flags.insecureSkipHostKeyCheck,
          signal,
          onWarnings: printWarnings,
          onWarning: (text) => process.stderr.write(`${chalk.yellow(`warning: ${text}`)}\n`),
          confirm: (consequences) => confirmDestructive({ yes: flags.yes === true, command: 'kubeinstall remove', consequences }),
        });
        process.stdout.write(`removed ${hosts.join(', ')}; next:\n${result.next.map((l) => `  - ${l}`).join('\n')}\nlog: ${result.logPath}\n`);
      });
    });
};
