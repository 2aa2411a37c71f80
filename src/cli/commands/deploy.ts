import type { Command } from 'commander';
import { Option } from 'commander';
import { PREFLIGHT_CHECK_NAMES } from '../../deploy/preflight-checks.js';
import { deployReport, failureReport, formatSummary } from '../../deploy/summary.js';
import { DEFAULT_MAX_UNAVAILABLE, type MaxUnavailable, type UpgradePolicy } from '../../deploy/roll.js';
import { PHASE_NAMES, type PhaseName } from '../../deploy/types.js';
import { UsageError } from '../../util/errors.js';
import { didYouMean } from '../../util/suggest.js';
import { withInterrupt, plainOutput } from '../interrupt.js';
import { allowNotReadyOption, concurrencyOption, duration, inventoryOption, list, maxUnavailable } from '../options.js';
import { printWarnings, examples } from '../output.js';

/** Every later phase reads what connect and facts found, so they always run. */
const ALWAYS: readonly PhaseName[] = ['connect', 'facts'];

export const parsePhases = (value: string | undefined): Set<PhaseName> => {
  if (!value) return new Set(PHASE_NAMES);
  const names = list(value);
  const bad = names.filter((n) => !(PHASE_NAMES as readonly string[]).includes(n));
  if (bad.length)
    throw new UsageError(`--phases: unknown phase ${bad.map((b) => `"${b}"${didYouMean(b, PHASE_NAMES)}`).join(', ')}; phases: ${PHASE_NAMES.join(', ')}`);
  return new Set([...ALWAYS, ...(names as PhaseName[])]);
};

export const parseIgnored = (value: string | undefined): Set<string> => {
  const names = list(value).map((n) => n.toLowerCase());
  const bad = names.filter((n) => n !== 'all' && !PREFLIGHT_CHECK_NAMES.includes(n));
  if (bad.length)
    throw new UsageError(
      `--ignore-preflight-errors: unknown check ${bad.map((b) => `"${b}"${didYouMean(b, PREFLIGHT_CHECK_NAMES)}`).join(', ')}; ` +
        `checks: ${PREFLIGHT_CHECK_NAMES.join(', ')}, all`,
    );
  return new Set(names);
};

export interface DeployFlags {
  inventory: string;
  hosts?: string;
  phases?: string;
  dryRun?: boolean;
  concurrency: number;
  maxUnavailable: MaxUnavailable;
  ignorePreflightErrors?: string;
  /** Milliseconds. */
  healthTimeout: number;
  allowNotReady?: boolean;
  insecureSkipHostKeyCheck?: boolean;
  output: 'text' | 'json';
}

/** The options of every command that runs deploy's phases (deploy, upgrade). */
export const addRunOptions = (command: Command): Command =>
  addRollOptions(command.addOption(inventoryOption()).option('--dry-run', 'connect and read, then show what would change without changing anything')).addOption(
    new Option('-o, --output <format>', 'text, or json: the result on stdout (a failure too), the task lines on stderr')
      .choices(['text', 'json'])
      .default('text'),
  );

/** How a run rolls its changes out: the options of every command that ends in deploy's phases (also `certs rotate-ca`). */
export const addRollOptions = (command: Command): Command =>
  command
    .addOption(concurrencyOption())
    .addOption(
      new Option('--max-unavailable <n|percent>', 'hosts whose running node services restart at once (a number, or a percentage of the nodes)')
        .argParser(maxUnavailable)
        .default(DEFAULT_MAX_UNAVAILABLE, '1'),
    )
    .option('--ignore-preflight-errors <checks>', `turn these preflight errors into warnings (${PREFLIGHT_CHECK_NAMES.join(', ')}, or all)`)
    .addOption(
      new Option('--health-timeout <duration>', 'how long to wait for each service to become healthy (seconds, or 90s, 2m)')
        .argParser(duration)
        .default(120_000, '120s'),
    )
    .addOption(allowNotReadyOption())
    .addOption(new Option('--insecure-skip-host-key-check', 'do not verify SSH host keys (warned about on every run)'));

/** Runs deploy's phases as the flags say (`upgrade`: with the upgrade policy) and prints the result. */
export const runDeployCommand = (flags: DeployFlags, upgrade?: UpgradePolicy): Promise<void> =>
  withInterrupt(async (signal) => {
    try {
      // Loaded on use: the SSH stack is only needed by deploy.
      const { deployInventory } = await import('../../deploy/deploy.js');
      const json = flags.output === 'json';
      const result = await deployInventory({
        inventory: flags.inventory,
        // JSON owns stdout; the task lines go to stderr, each saying where it belongs.
        layout: json || plainOutput() ? 'lines' : 'tree',
        taskOutput: json ? 'stderr' : 'stdout',
        insecureSkipHostKeyCheck: flags.insecureSkipHostKeyCheck,
        onWarnings: printWarnings,
        options: {
          dryRun: flags.dryRun === true,
          concurrency: flags.concurrency,
          maxUnavailable: flags.maxUnavailable,
          healthTimeoutMs: flags.healthTimeout,
          allowNotReady: flags.allowNotReady === true,
          ignorePreflight: parseIgnored(flags.ignorePreflightErrors),
          phases: parsePhases(flags.phases),
          hosts: flags.hosts ? new Set(list(flags.hosts)) : undefined,
          ...(upgrade ? { upgrade } : {}),
          signal,
        },
      });
      if (json) {
        process.stdout.write(`${JSON.stringify(deployReport(result, flags.dryRun === true), null, 2)}\n`);
        return;
      }
      for (const line of result.dryRunLines) process.stdout.write(`${line}\n`);
      process.stdout.write(`${formatSummary(result.summary, result.model, flags.dryRun === true, result.logPath)}\n`);
    } catch (err) {
      // A pipeline reads the failure from stdout as well; the message still goes to stderr as usual.
      if (flags.output === 'json') process.stdout.write(`${JSON.stringify(failureReport(err), null, 2)}\n`);
      throw err;
    }
  });

export const registerDeploy = (program: Command): void => {
  addRunOptions(program.command('deploy').description('install and start the cluster on every host over SSH'))
    .option('--hosts <names>', 'only these hosts (comma-separated inventory names)')
    .option('--phases <names>', `only these phases (comma-separated: ${PHASE_NAMES.join(', ')}); connect and facts always run`)
    .addHelpText(
      'after',
      examples(
        'kubeinstall deploy -i inventory.yaml',
        'kubeinstall deploy -i inventory.yaml --dry-run',
        'kubeinstall deploy -i inventory.yaml -o json | jq .hosts',
        'kubeinstall deploy -i inventory.yaml --hosts node-3 --phases upload,nodes',
        'kubeinstall deploy -i inventory.yaml --max-unavailable 25%',
      ),
    )
    .action((flags: DeployFlags) => runDeployCommand(flags));
};
