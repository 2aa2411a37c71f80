import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { Option } from 'commander';
import { loadInventory } from '../../inventory/load.js';
import { expandPki } from '../../pki/specs.js';
import { discoverPlan, verifyPki, type VerifyRow } from '../../pki/verify.js';
import { verifyDeployed } from '../../deploy/deployed-certs.js';
import { readClusterFiles } from '../../render/load.js';
import { createExecutor } from '../../ssh/executor.js';
import { pkiNow } from '../clock.js';
import { formatVerifyTable } from '../../pki/verify-report.js';
import { KubeinstallError } from '../../util/errors.js';
import { days, DEFAULT_INVENTORY, wholeNumber } from '../options.js';
import { printWarnings, examples } from '../output.js';

interface VerifyCliOptions {
  dir?: string;
  inventory?: string;
  output: 'table' | 'json';
  warnWithin: number;
  within?: number;
  remote?: boolean;
  concurrency: number;
  insecureSkipHostKeyCheck?: boolean;
}

/** `--remote`: what every host holds, read over SSH, against the cluster folder. */
const remoteRows = async (opts: VerifyCliOptions, warnWithinDays: number): Promise<{ dir: string; rows: VerifyRow[] }> => {
  const { model, warnings } = await loadInventory(opts.inventory ?? DEFAULT_INVENTORY);
  printWarnings(warnings);
  const dir = resolve(opts.dir ?? model.clusterDir);
  const executor = createExecutor({
    clusterKnownHosts: join(dir, 'known_hosts'),
    concurrency: opts.concurrency,
    insecureSkipHostKeyCheck: opts.insecureSkipHostKeyCheck,
  });
  try {
    const files = await readClusterFiles(dir);
    return { dir, rows: await verifyDeployed(model, executor, files, { now: pkiNow(), warnWithinDays, concurrency: opts.concurrency }) };
  } finally {
    await executor.close();
  }
};

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

const localRows = async (opts: VerifyCliOptions, warnWithinDays: number): Promise<{ dir: string; rows: VerifyRow[] }> => {
  const { dir, plan, checkInventory } = await planFor(opts);
  if (!existsSync(join(dir, 'pki'))) throw new KubeinstallError(`no PKI under ${dir} (create it with \`kubeinstall certs\`)`);
  return { dir, rows: await verifyPki(dir, plan, { now: pkiNow(), warnWithinDays, checkInventory }) };
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
    .option('--within <days>', 'the same as --warn-within, in the form `certs renew` takes (30d)', days)
    .option('--remote', "read the certificates every host holds over SSH, and fail where one is expired, due or not the cluster folder's")
    .option('--concurrency <n>', 'with --remote: hosts read at once', wholeNumber(1), 10)
    .option('--insecure-skip-host-key-check', 'with --remote: do not verify SSH host keys')
    .addHelpText(
      'after',
      examples(
        'kubeinstall verify-certs -i inventory.yaml',
        'kubeinstall verify-certs --dir ./prod -o json --warn-within 60',
        'kubeinstall verify-certs -i inventory.yaml --remote --within 30d',
      ),
    )
    .action(async (opts: VerifyCliOptions) => {
      const warnWithinDays = opts.within ?? opts.warnWithin;
      const { dir, rows } = opts.remote ? await remoteRows(opts, warnWithinDays) : await localRows(opts, warnWithinDays);
      process.stdout.write(opts.output === 'json' ? `${JSON.stringify(rows, null, 2)}\n` : formatVerifyTable(rows));
      const bad = rows.filter((r) => r.status !== 'ok');
      if (bad.length) {
        throw new KubeinstallError(
          `${bad.length} of ${rows.length} entries ${opts.remote ? 'on the hosts' : `under ${dir}`} need attention: ${bad
            .map((r) => `${r.host ? `${r.host} ` : ''}${r.name} (${r.status})`)
            .slice(0, 10)
            .join(', ')}${bad.length > 10 ? ', …' : ''}`,
        );
      }
    });
};
