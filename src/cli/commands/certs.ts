import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { ClusterModel } from '../../inventory/model.js';
import { loadInventory } from '../../inventory/load.js';
import { changedOnHosts } from '../../render/pki-files.js';
import { DEFAULT_RENEW_WITHIN_DAYS, renewSelector, type RenewTarget } from '../../pki/renew.js';
import { expandPki } from '../../pki/specs.js';
import { UsageError } from '../../util/errors.js';
import { ENCRYPTION_KEY_FILE } from '../../pki/encryption.js';
import { VRRP_PASSWORD_FILE } from '../../pki/vrrp.js';
import { generatePki, refuseDuringRotation, type CertsOptions, type CertsReport } from '../../pki/generate.js';
import { readRotationState } from '../../pki/store.js';
import { caLabel, ROTATION_STEPS } from '../../pki/rotation.js';
import { pkiNow } from '../clock.js';
import { POD_SUBNETS_FILE } from '../../network/pod-subnets.js';
import { withClusterLock } from '../../util/cluster-lock.js';
import { confirmDestructive } from '../confirm.js';
import { withInterrupt } from '../interrupt.js';
import { days, inventoryOption } from '../options.js';
import { printWarnings, examples } from '../output.js';
import { registerRotateCa } from './rotate-ca.js';

const kindOf = (id: string): string => id.split('/')[0]!;

/** Kinds with their counts, in table order: `kubelet-client (500)`. */
const kinds = (ids: readonly string[]): string => {
  const counts = new Map<string, number>();
  for (const id of ids) counts.set(kindOf(id), (counts.get(kindOf(id)) ?? 0) + 1);
  return [...counts].map(([kind, n]) => (n > 1 ? `${kind} (${n})` : kind)).join(', ');
};

/** Re-issued certificates one by one with the reason; a rotation's step 2 (every leaf under a CA, thousands in a large
 * cluster) by reason, the certificates by kind. */
const reissuedLines = (reissued: CertsReport['certs'], grouped: boolean): string[] => {
  if (!grouped) return reissued.map((c) => `re-issued ${c.id}: ${c.reason}`);
  const byReason = new Map<string, string[]>();
  for (const c of reissued) byReason.set(c.reason ?? '', [...(byReason.get(c.reason ?? '') ?? []), c.id]);
  return [...byReason].map(([reason, ids]) => (ids.length === 1 ? `re-issued ${ids[0]}: ${reason}` : `re-issued (${reason}): ${kinds(ids)}`));
};

/** What the service-account key pair became: by a rotation's step, or made or re-derived. */
const serviceAccountLine = (report: CertsReport): string[] => {
  if (report.rotation?.serviceAccount) return [ROTATION_STEPS[report.rotation.step].wroteSa];
  if (report.serviceAccount === 'kept') return [];
  return [`${report.serviceAccount === 'created' ? 'created' : 're-derived sa.pub for'} the service-account key pair`];
};

/** Created and kept certificates by kind, then the re-issued ones. */
export const formatCertsReport = (report: CertsReport, dir: string): string => {
  const ids = (outcome: string): string[] => report.certs.filter((c) => c.outcome === outcome).map((c) => c.id);
  const reissued = report.certs.filter((c) => c.outcome === 'reissued');
  return `${[
    ...(report.rotation ? [`rotating ${report.rotation.cas.map(caLabel).join(', ')}: ${ROTATION_STEPS[report.rotation.step].wrote}`] : []),
    ...(ids('created').length ? [`created: ${kinds(ids('created'))}`] : []),
    ...(ids('kept').length ? [`kept: ${kinds(ids('kept'))}`] : []),
    ...reissuedLines(reissued, report.rotation !== undefined),
    ...serviceAccountLine(report),
    ...(report.written.includes(ENCRYPTION_KEY_FILE) ? [`wrote the Secrets encryption key ${ENCRYPTION_KEY_FILE}`] : []),
    ...(report.written.includes(VRRP_PASSWORD_FILE) ? [`wrote the masters' VRRP password ${VRRP_PASSWORD_FILE}`] : []),
    ...(report.written.includes(POD_SUBNETS_FILE) ? [`recorded the kubelet hosts' pod subnets in ${POD_SUBNETS_FILE}`] : []),
    `${ids('created').length} created, ${ids('kept').length} kept, ${reissued.length} re-issued; ${report.written.length} files written under ${dir}`,
  ].join('\n')}\n`;
};

/** What the next deploy uploads and restarts for the files a renewal wrote, host by host, and how it rolls them. */
export const formatRollPlan = (model: ClusterModel, written: readonly string[]): string => {
  const hosts = changedOnHosts(expandPki(model), model.hosts, new Set(written));
  if (!hosts.length) return 'nothing to roll: no file a host holds changed\n';
  return `${[
    'the next `kubeinstall deploy` uploads the renewed files and restarts:',
    ...hosts.map((h) => `  ${h.host}: ${h.restarts.length ? h.restarts.join(', ') : 'nothing'} (${h.files.length} file${h.files.length > 1 ? 's' : ''})`),
    'one etcd member at a time, then one master at a time (each kube-apiserver ready before the next stops), then the node services',
  ].join('\n')}\n`;
};

/** Runs `certs` (or a renewal) under the cluster folder's lock, after `confirm`; prints its report, then `after`'s text.
 * Ctrl-C: stop before anything is moved into place (or finish the move), exit 130; twice: quit at once. */
const runCerts = async (
  model: ClusterModel,
  dir: string,
  options: Omit<CertsOptions, 'signal'>,
  { confirm, after }: { confirm?: () => Promise<void>; after?: (report: CertsReport) => string } = {},
): Promise<void> =>
  withClusterLock(dir, async () => {
    await confirm?.();
    await withInterrupt(async (signal) => {
      const report = await generatePki(model, dir, { ...options, now: pkiNow(), signal });
      for (const w of report.warnings) process.stderr.write(`warning: ${w}\n`);
      process.stdout.write(formatCertsReport(report, dir) + (after?.(report) ?? ''));
    }, 'stopping: nothing is written unless the files were already being moved into place');
  });

interface RenewFlags {
  inventory: string;
  dir?: string;
  forceCa?: boolean;
  within?: number;
  all?: boolean;
}

const renewTarget = (names: readonly string[], flags: RenewFlags): RenewTarget => {
  if (flags.forceCa) throw new UsageError('certs renew: --force-ca replaces the CAs, which a renewal never does (run `certs --force-ca` alone)');
  const given = [names.length > 0, flags.all === true, flags.within !== undefined].filter(Boolean).length;
  if (given > 1) throw new UsageError('certs renew: give one of --within, --all or certificate names');
  if (flags.all) return { all: true };
  if (names.length) return { names };
  return { withinDays: flags.within ?? DEFAULT_RENEW_WITHIN_DAYS };
};

const registerRenew = (certs: Command): void => {
  certs
    .command('renew')
    .description('re-issue the leaf certificates due (or named) with new keys, under the same CAs, and the kubeconfigs embedding them')
    .argument('[name...]', "certificates to renew: a kind (etcd-server: every member's) or one host's (etcd-server/m1)")
    // -i and --dir are those of `certs` (commander hands them to it wherever they stand).
    .configureHelp({ showGlobalOptions: true })
    .option('--within <days>', `renew the leaves that expire within this many days (default ${DEFAULT_RENEW_WITHIN_DAYS}d)`, days)
    .option('--all', 'renew every leaf certificate')
    .addHelpText(
      'after',
      examples(
        'kubeinstall certs renew -i inventory.yaml && kubeinstall deploy -i inventory.yaml',
        'kubeinstall certs renew -i inventory.yaml --within 60d',
        'kubeinstall certs renew -i inventory.yaml apiserver etcd-server/m1',
      ),
    )
    .action(async (names: string[], _: RenewFlags, command: Command) => {
      const flags = command.optsWithGlobals<RenewFlags>();
      const target = renewTarget(names, flags);
      const { model, warnings } = await loadInventory(flags.inventory);
      printWarnings(warnings);
      const renew = renewSelector(expandPki(model), target);
      await runCerts(model, resolve(flags.dir ?? model.clusterDir), { renew }, { after: (report) => formatRollPlan(model, report.written) });
    });
};

export const registerCerts = (program: Command): void => {
  const certs = program
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
      const confirm = (): Promise<void> =>
        confirmDestructive({
          yes: opts.yes === true,
          command: 'kubeinstall certs --force-ca',
          consequences: [`--force-ca replaces every CA in ${dir} and so every certificate: hosts stop trusting every certificate issued so far`],
        });
      // before the question: a rotation in progress refuses --force-ca whatever the answer
      if (opts.forceCa) refuseDuringRotation(await readRotationState(dir));
      await runCerts(model, dir, { forceCa: opts.forceCa }, opts.forceCa ? { confirm } : {});
    });
  registerRenew(certs);
  registerRotateCa(certs, runCerts);
};
