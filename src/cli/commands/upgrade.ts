import type { Command } from 'commander';
import { Option } from 'commander';
import { duration } from '../options.js';
import { examples } from '../output.js';
import { addRunOptions, runDeployCommand, type DeployFlags } from './deploy.js';

interface UpgradeFlags {
  force?: boolean;
  /** Milliseconds. */
  drainTimeout: number;
}

/** `kubeinstall upgrade`: deploy with the upgrade policy, over the whole cluster (the skew checks need every host's version). */
export const registerUpgrade = (program: Command): void => {
  addRunOptions(
    program
      .command('upgrade')
      .description(
        "roll the cluster to the inventory's kubernetesVersion (one minor up at most): etcd and masters one at a time, " +
          'then nodes in batches, each Node cordoned, drained, restarted, uncordoned',
      ),
  )
    .option('--force', 'also evict pods no controller manages (they are lost)')
    .addOption(
      new Option('--drain-timeout <duration>', 'how long the evictions of one Node may take (seconds, or 90s, 2m)').argParser(duration).default(300_000, '5m'),
    )
    .addHelpText(
      'after',
      examples(
        'kubeinstall upgrade -i inventory.yaml --dry-run',
        'kubeinstall upgrade -i inventory.yaml',
        'kubeinstall upgrade -i inventory.yaml --max-unavailable 2',
      ),
    )
    .action((flags: DeployFlags & UpgradeFlags) => runDeployCommand(flags, { drainTimeoutMs: flags.drainTimeout, force: flags.force === true }));
};
