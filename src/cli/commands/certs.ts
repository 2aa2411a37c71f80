import { resolve } from 'node:path';
import type { Command } from 'commander';
import { loadInventory } from '../../inventory/load.js';
import { ENCRYPTION_KEY_FILE } from '../../pki/encryption.js';
import { VRRP_PASSWORD_FILE } from '../../pki/vrrp.js';
import { POD_SUBNETS_FILE } from '../../network/pod-subnets.js';
import { generatePki, type CertsReport } from '../../pki/generate.js';
import { withClusterLock } from '../../util/cluster-lock.js';
import { confirmDestructive } from '../confirm.js';
import { withInterrupt } from '../interrupt.js';
import { inventoryOption } from '../options.js';
import { printWarnings, examples } from '../output.js';

const kindOf = (id: string): string => id.split('/')[0]!;

/** Kinds with their counts, in table order: `kubelet-client (500)`. */
const kinds = (ids: readonly string[]): string => {
  const counts = new Map<string, number>();
  for (const id of ids) counts.set(kindOf(id), (counts.get(kindOf(id)) ?? 0) + 1);
  return [...counts].map(([kind, n]) => (n > 1 ? `${kind} (${n})` : kind)).join(', ');
};

/** Created and kept certificates by kind, re-issued ones one by one with the reason. */
export const formatCertsReport = (report: CertsReport, dir: string): string => {
  const ids = (outcome: string): string[] => report.certs.filter((c) => c.outcome === outcome).map((c) => c.id);
  const reissued = report.certs.filter((c) => c.outcome === 'reissued');
  return `${[
    ...(ids('created').length ? [`created: ${kinds(ids('created'))}`] : []),
    ...(ids('kept').length ? [`kept: ${kinds(ids('kept'))}`] : []),
    ...reissued.map((c) => `re-issued ${c.id}: ${c.reason}`),
    ...(report.serviceAccount !== 'kept' ? [`${report.serviceAccount === 'created' ? 'created' : 're-derived sa.pub for'} the service-account key pair`] : []),
    ...(report.written.includes(ENCRYPTION_KEY_FILE) ? [`wrote the Secrets encryption key ${ENCRYPTION_KEY_FILE}`] : []),
    ...(report.written.includes(VRRP_PASSWORD_FILE) ? [`wrote the masters' VRRP password ${VRRP_PASSWORD_FILE}`] : []),
    ...(report.written.includes(POD_SUBNETS_FILE) ? [`recorded the kubelet hosts' pod subnets in ${POD_SUBNETS_FILE}`] : []),
    `${ids('created').length} created, ${ids('kept').length} kept, ${reissued.length} re-issued; ${report.written.length} files written under ${dir}`,
  ].join('\n')}\n`;
};

export const registerCerts = (program: Command): void => {
  program
    .command('certs')
    .description('generate the cluster PKI and kubeconfigs from the inventory')
    .addOption(inventoryOption())
    .option('--dir <dir>', "cluster folder (default: the inventory's clusterDir, a folder named after the cluster next to it)")
    .option('--force-ca', 'replace the CAs, and so re-issue every certificate (asks for confirmation)')
    .option('-y, --yes', 'do not ask for confirmation')
    .addHelpText('after', examples('kubeinstall certs -i inventory.yaml', 'kubeinstall certs -i inventory.yaml --dir /secure/prod --force-ca --yes'))
    .action(async (opts: { inventory: string; dir?: string; forceCa?: boolean; yes?: boolean }) => {
      const { model, warnings } = await loadInventory(opts.inventory);
      printWarnings(warnings);
      const dir = resolve(opts.dir ?? model.clusterDir);
      await withClusterLock(dir, async () => {
        if (opts.forceCa)
          await confirmDestructive({
            yes: opts.yes === true,
            command: 'kubeinstall certs --force-ca',
            consequences: [`--force-ca replaces every CA in ${dir} and so every certificate: hosts stop trusting every certificate issued so far`],
          });
        // Ctrl-C: stop before anything is moved into place (or finish the move), exit 130; twice: quit at once.
        await withInterrupt(async (signal) => {
          const report = await generatePki(model, dir, { forceCa: opts.forceCa, signal });
          for (const w of report.warnings) process.stderr.write(`warning: ${w}\n`);
          process.stdout.write(formatCertsReport(report, dir));
        }, 'stopping: nothing is written unless the files were already being moved into place');
      });
    });
};
