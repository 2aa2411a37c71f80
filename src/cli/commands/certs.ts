import { createInterface } from 'node:readline/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { loadInventory } from '../../inventory/load.js';
import { generatePki, type CertsReport } from '../../pki/generate.js';
import { UsageError } from '../../util/errors.js';
import { inventoryOption } from '../options.js';
import { printWarnings } from '../output.js';

const confirmCaReplacement = async (dir: string): Promise<boolean> => {
  if (!process.stdin.isTTY) throw new UsageError('--force-ca replaces every CA and so every certificate; add --yes to confirm when not at a terminal');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`Replace the CAs in ${dir}? Hosts will stop trusting every certificate issued so far. Type "yes" to go on: `);
    return answer.trim() === 'yes';
  } finally {
    rl.close();
  }
};

/** One line per kind of certificate created, one per certificate re-issued (with why), kept ones counted. */
export const formatCertsReport = (report: CertsReport, dir: string): string => {
  const created = new Map<string, number>();
  const lines: string[] = [];
  for (const c of report.certs) {
    if (c.outcome === 'created') created.set(c.id.split('/')[0]!, (created.get(c.id.split('/')[0]!) ?? 0) + 1);
    if (c.outcome === 'reissued') lines.push(`re-issued ${c.id}: ${c.reason}`);
  }
  const count = (o: string): number => report.certs.filter((c) => c.outcome === o).length;
  return [
    ...[...created].map(([kind, n]) => `created ${kind}${n > 1 ? ` (${n})` : ''}`),
    ...lines,
    ...(report.serviceAccount !== 'kept' ? [`${report.serviceAccount === 'created' ? 'created' : 're-derived sa.pub for'} service-account key pair`] : []),
    `${count('created')} created, ${count('kept')} kept, ${count('reissued')} re-issued; ${report.written.length} files written under ${dir}`,
  ].join('\n') + '\n';
};

export const registerCerts = (program: Command): void => {
  program
    .command('certs')
    .description('generate the cluster PKI and kubeconfigs from the inventory')
    .addOption(inventoryOption())
    .option('--dir <dir>', 'cluster folder (default: the inventory\'s clusterDir, a folder named after the cluster next to it)')
    .option('--force-ca', 'replace the CAs, and so re-issue every certificate (asks for confirmation)')
    .option('-y, --yes', 'do not ask for confirmation')
    .addHelpText('after', '\nExamples:\n  kubeinstall certs -i inventory.yaml\n  kubeinstall certs -i inventory.yaml --dir /secure/prod --force-ca --yes')
    .action(async (opts: { inventory: string; dir?: string; forceCa?: boolean; yes?: boolean }) => {
      const { model, warnings } = await loadInventory(opts.inventory);
      printWarnings(warnings);
      const dir = resolve(opts.dir ?? model.clusterDir);
      if (opts.forceCa && !opts.yes && !(await confirmCaReplacement(dir))) throw new UsageError('CA replacement not confirmed; nothing was changed');
      const report = await generatePki(model, dir, { forceCa: opts.forceCa });
      process.stdout.write(formatCertsReport(report, dir));
    });
};
