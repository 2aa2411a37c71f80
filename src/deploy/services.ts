// Starting units and waiting for them. A unit restarts only when a file it depends on changed
// (remembered on the host as a pending-restart marker until the restart happened) or when it is
// not running, and reloads when only a file it reloads changed (kube-lb's config; a pending-reload
// marker likewise); everything else is left alone, so a re-run restarts nothing.
import type { Host } from '../inventory/model.js';
import type { HostPlan, PlannedService, ServicePhase } from '../render/types.js';
import { KubeinstallError } from '../util/errors.js';
import { PENDING_RELOAD_DIR, PENDING_RESTART_DIR, parseFacts, unitStatusScript, type Facts } from './facts.js';
import { quote, quoteAll } from '../util/shell.js';
import { outcomeOf, type DeployContext } from './types.js';

export const servicesOf = (hp: HostPlan, phase: ServicePhase): PlannedService[] => hp.services.filter((s) => s.phase === phase);

export interface UnitStatus {
  readonly state: string;
  readonly pending: boolean;
  /** A reload is pending (a restart, pending or needed, does it too). */
  readonly reload?: boolean;
}

/** The units that need a (re)start: pending a restart for changed files, or not running. */
export const unitsToStart = (units: readonly string[], status: ReadonlyMap<string, UnitStatus>): string[] =>
  units.filter((u) => status.get(u)?.pending || status.get(u)?.state !== 'active');

/** The running units that only need a reload. */
export const unitsToReload = (units: readonly string[], status: ReadonlyMap<string, UnitStatus>): string[] => {
  const starting = new Set(unitsToStart(units, status));
  return units.filter((u) => !starting.has(u) && status.get(u)?.reload);
};

/** Units a file changed in this run restarts, or reloads (on the host the marker says so too; a dry run writes none). */
const changedThisRun = (ctx: DeployContext, hp: HostPlan, unit: string, how: 'restarts' | 'reloads' = 'restarts'): boolean => {
  const changed = new Set(ctx.outcomes.get(hp.host.name)?.changed ?? []);
  return hp.files.some((f) => changed.has(f.path) && (f[how] ?? []).includes(unit));
};

/** Whether this run (re)starts `unit` on the host: it was not running, a restart was pending from an
 * earlier run, or this run uploaded a file it depends on. */
export const willStart = (ctx: DeployContext, hp: HostPlan, unit: string): boolean => {
  const facts = ctx.facts.get(hp.host.name);
  return facts?.unitStates.get(unit) !== 'active' || facts.pendingRestarts.includes(unit) || changedThisRun(ctx, hp, unit);
};

/**
 * How many hosts (re)start their `units` at once when that is a roll: some host runs one of them and some
 * host must (re)start one (etcd keeps quorum, the API stays served by the other API servers, the other
 * nodes keep running pods); `size` at most, one by default. Undefined when nothing running restarts: a
 * new cluster's etcd members must start together.
 */
export const rollSize = (ctx: DeployContext, hosts: readonly HostPlan[], units: (hp: HostPlan) => readonly string[], size = 1): number | undefined => {
  const running = hosts.some((hp) => units(hp).some((u) => ctx.facts.get(hp.host.name)?.unitStates.get(u) === 'active'));
  const restarting = hosts.some((hp) => units(hp).some((u) => willStart(ctx, hp, u)));
  return running && restarting ? Math.max(1, Math.min(size, hosts.length)) : undefined;
};

const statusOf = (facts: Facts, u: string): UnitStatus => ({
  state: facts.unitStates.get(u) ?? 'unknown',
  pending: facts.pendingRestarts.includes(u),
  reload: facts.pendingReloads.includes(u),
});

const queryUnits = async (ctx: DeployContext, host: Host, units: readonly string[]): Promise<Map<string, UnitStatus>> => {
  const { stdout } = await ctx.executor.exec(host, unitStatusScript(units), { step: 'query units', sudo: true });
  const facts = parseFacts(stdout, 0);
  return new Map(units.map((u) => [u, statusOf(facts, u)]));
};

const markers = (units: readonly string[]): string =>
  units.flatMap((u) => [PENDING_RESTART_DIR, PENDING_RELOAD_DIR].map((dir) => quote(`${dir}/${u}`))).join(' ');

export const startUnitsCommand = (units: readonly string[]): string =>
  [
    'systemctl daemon-reload',
    `systemctl enable --quiet ${quoteAll(units)}`,
    // The wait counts this run's restarts (NRestarts): a unit that crash-looped before (since fixed) starts from 0.
    `systemctl reset-failed ${quoteAll(units)}`,
    // --no-block: members of a new etcd cluster only report ready once their peers are up.
    `systemctl restart --no-block ${quoteAll(units)}`,
    // A restart reads every changed file, so a pending reload is done too.
    `rm -f ${markers(units)}`,
  ].join(' && ');

/** `systemctl reload` runs the unit's ExecReload= (kube-lb checks the new config first; a bad one fails here and keeps the old). */
export const reloadUnitsCommand = (units: readonly string[]): string =>
  [`systemctl reload ${quoteAll(units)}`, `rm -f ${units.map((u) => quote(`${PENDING_RELOAD_DIR}/${u}`)).join(' ')}`].join(' && ');

/**
 * The units' states and pending restarts: those the facts gathered while this run has (re)started
 * nothing on the host yet, since nothing of ours changed them since; asked again otherwise.
 */
export const unitStatus = async (ctx: DeployContext, host: Host, units: readonly string[]): Promise<Map<string, UnitStatus>> => {
  const facts = ctx.facts.get(host.name);
  if (!facts || ctx.outcomes.get(host.name)?.restarted.length) return queryUnits(ctx, host, units);
  return new Map(units.map((u) => [u, statusOf(facts, u)]));
};

/** Starts what needs starting among `units`, reloads what only needs a reload; returns a line for the task tree. */
export const startUnits = async (ctx: DeployContext, hp: HostPlan, units: readonly string[]): Promise<string> => {
  if (!units.length) return 'nothing to run here';
  const queried = await unitStatus(ctx, hp.host, units);
  const status = new Map(
    units.map((u) => {
      const q = queried.get(u)!;
      return [u, { ...q, pending: q.pending || changedThisRun(ctx, hp, u), reload: q.reload || changedThisRun(ctx, hp, u, 'reloads') }];
    }),
  );
  const toStart = unitsToStart(units, status);
  const toReload = unitsToReload(units, status);
  if (!toStart.length && !toReload.length) return `unchanged and running: ${units.join(', ')}`;
  if (toStart.length) {
    await ctx.wet(hp.host, `start ${toStart.join(', ')}`, () =>
      ctx.executor.exec(hp.host, startUnitsCommand(toStart), { step: `start ${toStart.join(', ')}`, sudo: true }),
    );
  }
  if (toReload.length) {
    await ctx.wet(hp.host, `reload ${toReload.join(', ')}`, () =>
      ctx.executor.exec(hp.host, reloadUnitsCommand(toReload), { step: `reload ${toReload.join(', ')}`, sudo: true }),
    );
  }
  if (!ctx.options.dryRun) outcomeOf(ctx, hp.host).restarted.push(...toStart);
  if (!ctx.options.dryRun) outcomeOf(ctx, hp.host).reloaded.push(...toReload);
  const running = (u: string): boolean => status.get(u)?.state === 'active';
  const verb = (u: string): string => (ctx.options.dryRun ? `would ${running(u) ? 'restart' : 'start'} ${u}` : `${running(u) ? 'restarted' : 'started'} ${u}`);
  const reloadVerb = (u: string): string => (ctx.options.dryRun ? `would reload ${u}` : `reloaded ${u}`);
  return [...toStart.map(verb), ...toReload.map(reloadVerb)].join(', ');
};

/** How often a unit may crash-loop while we wait before we call it failed instead of slow. */
const MAX_RESTARTS_WHILE_WAITING = 2;

/**
 * A remote loop that waits until `probe` succeeds, failing early when one of the units has failed or
 * keeps crashing. Exit 0: healthy; 1: timed out (stderr ends with the probe's last complaint); 2: a unit
 * failed (stderr starts with its name).
 */
export const waitScript = (units: readonly string[], probe: string, timeoutSeconds: number): string =>
  [
    `deadline=$(( $(date +%s) + ${timeoutSeconds} ))`,
    `until last=$(${probe} 2>&1); do`,
    `  for unit in ${quoteAll(units)}; do`,
    '    state=$(systemctl is-active "$unit"); restarts=$(systemctl show -p NRestarts --value "$unit")',
    `    if [ "$state" = failed ] || [ "\${restarts:-0}" -ge ${MAX_RESTARTS_WHILE_WAITING} ]; then`,
    '      echo "$unit $state after $restarts restarts" >&2; exit 2',
    '    fi',
    '  done',
    `  if [ "$(date +%s)" -ge "$deadline" ]; then echo "not healthy after ${timeoutSeconds} s${units.length ? ' (state: $state)' : ''} $last" >&2; exit 1; fi`,
    '  sleep 0.5',
    'done',
  ].join('\n');

const JOURNAL_LINE_CHARS = 300;

export const journalTail = async (ctx: DeployContext, host: Host, unit: string, lines = 25): Promise<string> => {
  const { stdout } = await ctx.executor.exec(host, `journalctl -u ${quote(unit)} -n ${lines} --no-pager -o cat`, {
    step: `journal of ${unit}`,
    sudo: true,
    allowFailure: true,
  });
  // One runaway line (a traceback quoting a long source line) must not bury the rest.
  return stdout
    .trimEnd()
    .split('\n')
    .map((l) => (l.length > JOURNAL_LINE_CHARS ? `${l.slice(0, JOURNAL_LINE_CHARS)}…` : l))
    .join('\n');
};

/** Why a unit is beyond waiting for (failed, or crash-looping), or undefined while it may still come up. */
export const unitBroken = async (ctx: DeployContext, host: Host, unit: string): Promise<string | undefined> => {
  const { stdout } = await ctx.executor.exec(host, `systemctl show -p ActiveState -p NRestarts ${quote(unit)}`, { step: `state of ${unit}`, sudo: true });
  const state = /ActiveState=(\S+)/.exec(stdout)?.[1] ?? 'unknown';
  const restarts = Number(/NRestarts=(\d+)/.exec(stdout)?.[1] ?? 0);
  return state === 'failed' || restarts >= MAX_RESTARTS_WHILE_WAITING ? `${state} after ${restarts} restarts` : undefined;
};

export class ServiceFailed extends KubeinstallError {}

export const serviceFailed = async (ctx: DeployContext, host: Host, unit: string, why: string): Promise<never> => {
  const journal = await journalTail(ctx, host, unit);
  throw new ServiceFailed(
    `${unit} on ${host.name} is not healthy: ${why}\n  journalctl -u ${unit} (last lines):\n    ${journal.replace(/\n/g, '\n    ') || '(empty)'}`,
  );
};

/** Waits on the host for `probe` (one command however many units it covers); on failure reports the
 * journal tail of the unit that failed, or of `blame(complaint)` on a timeout. */
export const waitRemote = async (
  ctx: DeployContext,
  hp: HostPlan,
  units: readonly string[],
  probe: string,
  blame: (complaint: string) => string = () => units[0]!,
): Promise<void> => {
  if (ctx.options.dryRun) return;
  const seconds = Math.ceil(ctx.options.healthTimeoutMs / 1000);
  const result = await ctx.executor.exec(hp.host, waitScript(units, probe, seconds), {
    step: `wait for ${units.join(', ')}`,
    sudo: true,
    allowFailure: true,
    timeoutMs: ctx.options.healthTimeoutMs + 15_000,
  });
  if (result.code === 0) return;
  const why = result.stderr.trim() || `exit code ${result.code}`;
  const crashed = result.code === 2 ? units.find((u) => why.startsWith(`${u} `)) : undefined;
  await serviceFailed(ctx, hp.host, crashed ?? blame(why), crashed ? why.slice(crashed.length + 1) : why);
};
