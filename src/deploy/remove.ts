// The I/O edge of `kubeinstall remove`: the inventory's hosts checked, the cluster folder locked, the hosts
// reached (deploy's connect and facts), the etcd quorum checked against the running cluster, the operator's
// confirmation, then the remove phases; a log in the cluster folder as deploy writes one.
import { freePodSubnetsOf } from '../network/pod-subnets.js';
import { join } from 'node:path';
import { hostsWithRole, type Host } from '../inventory/model.js';
import { loadInventory } from '../inventory/load.js';
import { loadPlanInputs } from '../render/load.js';
import { buildClusterPlan } from '../render/plan.js';
import type { HostPlan } from '../render/types.js';
import { createExecutor } from '../ssh/executor.js';
import { withClusterLock } from '../util/cluster-lock.js';
import { KubeinstallError, UsageError, type Problem } from '../util/errors.js';
import { openCommandLog } from './command-log.js';
import { createContext } from './context.js';
import { inventoryEndpoints, memberOf, readMembers } from './etcd-client.js';
import { Interrupted, runPhases, type Layout } from './manager.js';
import { connectPhase } from './phases/connect.js';
import { factsPhase } from './phases/facts.js';
import { REMOVE_PHASE_NAMES, removePhases } from './phases/remove.js';
import { etcdAsidePath } from '../reset/items.js';
import { updateRemovedHosts } from './removed-record.js';
import { etcdRemovalRefusal, etcdRemovalWarning, inventoryRefusals, leftBehind, removalSteps } from './removal.js';
import { PHASE_NAMES, type DeployContext } from './types.js';

export interface RemoveRequest {
  readonly inventory: string;
  readonly hosts: readonly string[];
  readonly force: boolean;
  readonly drainTimeoutMs: number;
  readonly concurrency: number;
  readonly layout: Layout;
  readonly insecureSkipHostKeyCheck?: boolean;
  readonly signal: AbortSignal;
  /** The confirmation gate (confirmDestructive): what will be done, one line a host. */
  readonly confirm: (consequences: readonly string[]) => Promise<void>;
  readonly onWarnings?: (warnings: readonly Problem[]) => void;
  /** A warning about the cluster the removal leaves (an even etcd member count). */
  readonly onWarning: (text: string) => void;
}

export interface RemoveResult {
  /** Per removed host: what stays behind and what the operator does next. */
  readonly next: readonly string[];
  readonly logPath: string;
}

/** The running cluster must keep a majority: refused (exit 2) before anything changes. */
const checkQuorum = async (ctx: DeployContext, removing: readonly Host[], via: HostPlan | undefined): Promise<string | undefined> => {
  const etcdRemoved = removing.filter((h) => h.roles.includes('etcd'));
  if (!etcdRemoved.length) return undefined;
  if (!via) throw new UsageError(`it would remove every etcd member of the inventory (${etcdRemoved.map((h) => h.name).join(', ')})`);
  const { members, problem } = await readMembers(ctx.executor, via, inventoryEndpoints(ctx.model));
  if (!members)
    throw new KubeinstallError(
      `cannot check etcd's quorum before removing ${etcdRemoved.map((h) => h.name).join(', ')}: member list from ${via.host.name}: ${problem}`,
    );
  const voting = members.filter((m) => !m.learner);
  const k = etcdRemoved.filter((h) => voting.includes(memberOf(members, h)!)).length;
  const refusal = etcdRemovalRefusal(voting.length, k);
  if (refusal) throw new UsageError(`refused: ${refusal}; nothing was changed`);
  return etcdRemovalWarning(voting.length, k);
};

export const removeHosts = async (req: RemoveRequest): Promise<RemoveResult> => {
  const { model, warnings } = await loadInventory(req.inventory, { requireBinaries: true });
  req.onWarnings?.(warnings);
  const unknown = req.hosts.filter((name) => !model.hosts.some((h) => h.name === name));
  if (unknown.length)
    throw new UsageError(
      `not in ${req.inventory}: ${unknown.join(', ')} (hosts: ${model.hosts.map((h) => h.name).join(', ')}); remove acts on inventory hosts only`,
    );
  const removing = model.hosts.filter((h) => req.hosts.includes(h.name));
  const refusals = inventoryRefusals(model, removing);
  if (refusals.length) throw new UsageError(`refused: ${refusals.join('; ')}; nothing was changed`);
  return withClusterLock(model.clusterDir, async () => {
    // remove uploads nothing: registry credentials are not needed
    const { clusterFiles, binaries, images, registries } = await loadPlanInputs(model, model.clusterDir, { secretsOptional: true });
    const plan = buildClusterPlan(model, clusterFiles, binaries, { images, registries, allowMissingSecrets: true });
    const names = new Set(req.hosts);
    // Removed hosts are reset once out of the cluster; their etcd data is kept aside, never deleted here.
    const reset = { purgeData: false, etcdAside: etcdAsidePath(new Date()) };
    const stayingMember = hostsWithRole(model, 'etcd').find((h) => !names.has(h.name));
    const via = plan.hosts.find((hp) => hp.host.name === stayingMember?.name);
    const executor = createExecutor({
      clusterKnownHosts: join(model.clusterDir, 'known_hosts'),
      concurrency: req.concurrency,
      insecureSkipHostKeyCheck: req.insecureSkipHostKeyCheck,
    });
    const log = await openCommandLog(model.clusterDir, new Date(), 'remove');
    executor.onExec((e) => log.write(e));
    const runHosts = new Set([...names, ...(via && removing.some((h) => h.roles.includes('etcd')) ? [via.host.name] : [])]);
    const ctx = createContext({
      model,
      plan,
      executor,
      clusterFiles,
      onDryRun: () => undefined,
      options: {
        dryRun: false,
        concurrency: req.concurrency,
        healthTimeoutMs: req.drainTimeoutMs,
        ignorePreflight: new Set(),
        phases: new Set([...PHASE_NAMES, ...REMOVE_PHASE_NAMES]),
        hosts: runHosts,
        signal: req.signal,
      },
    });
    let logFailure: Error | undefined;
    try {
      await runPhases([connectPhase, factsPhase], ctx, req.layout);
      const warning = await checkQuorum(ctx, removing, via);
      if (warning) req.onWarning(warning);
      await req.confirm(removing.map(removalSteps));
      await runPhases(removePhases({ removing: names, etcdVia: via, force: req.force, drainTimeoutMs: req.drainTimeoutMs, reset }), ctx, req.layout);
    } catch (err) {
      throw req.signal.aborted ? new Interrupted() : err;
    } finally {
      await executor.close();
      logFailure = await log.close();
    }
    if (logFailure) throw logFailure;
    await updateRemovedHosts(model.clusterDir, { add: req.hosts });
    await freePodSubnetsOf(model.clusterDir, req.hosts);
    return { next: removing.map((h) => leftBehind(h, reset.etcdAside)), logPath: log.path };
  });
};
