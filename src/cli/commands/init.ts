import type { Command } from 'commander';
import { writeFileAtomic } from '../../util/fs.js';
import { KubeinstallError, UsageError } from '../../util/errors.js';
import { renderStarterInventory } from '../../inventory/template.js';
import { loadInventoryText } from '../../inventory/load.js';
import { DEFAULT_INVENTORY, wholeNumber } from '../options.js';

export const registerInit = (program: Command): void => {
  const init = program.command('init').description('create starter files');
  init
    .command('inventory')
    .description('write a complete, commented starter inventory that passes validation as written')
    .option('-o, --output <file>', 'where to write it', DEFAULT_INVENTORY)
    .option('--force', 'overwrite an existing file')
    .option('--masters <n>', 'number of masters', wholeNumber(), 1)
    .option('--nodes <n>', 'number of worker nodes', wholeNumber(), 1)
    .option('--etcd <n>', 'number of dedicated etcd hosts (0: etcd runs on the masters)', wholeNumber(), 0)
    .addHelpText(
      'after',
      '\nExamples:\n  kubeinstall init inventory -o cluster.yaml --masters 3 --nodes 3\n  kubeinstall init inventory -o etcd.yaml --masters 0 --nodes 0 --etcd 3',
    )
    .action(async (opts: { output: string; force?: boolean; masters: number; nodes: number; etcd: number }) => {
      if (opts.masters === 0 && opts.nodes > 0) throw new UsageError('--nodes needs at least one master (--masters 1 or more)');
      const text = renderStarterInventory({ masters: opts.masters, nodes: opts.nodes, etcd: opts.etcd });
      loadInventoryText(text, opts.output); // the starter must pass our own validation as written
      try {
        await writeFileAtomic(opts.output, text, { mode: 0o644, exclusive: !opts.force });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
          throw new KubeinstallError(`${opts.output} already exists; use --force to overwrite it`);
        }
        throw err;
      }
      process.stdout.write(`wrote ${opts.output}\n`);
    });
};
