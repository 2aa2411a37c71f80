// `kubeinstall remove`'s phases, after deploy's connect and facts: drain the Nodes, remove the etcd members
// one at a time, stop what is left. The removed hosts keep their files (that is `reset`'s work).
import { hasRole, runsKubelet } from '../../inventory/model.js';
import type { HostPlan } from '../../render/types.js';
import { UNITS } from '../../render/units.js';
import { KubeinstallError } from '../../util/errors.js';
import { quoteAll } from '../../util/shell.js';
import { cordon, deleteNode, drain } from '../drain.js';
import { inventoryEndpoints, memberOf, readMembers, votingEndpoints } from '../etcd-client.js';
import { reachedHosts } from '../hosts.js';
import { etcdRemovalRefusal } from '../removal.js';
import { outcomeOf, type DeployContext, type Phase } from '../types.js';
import { untilAccepted } from './etcd.js';
import { nodeApi } from './nodes.js';
import type { ResetOptions } from '../../reset/items.js';
import { resetPhase } from '../../reset/phase.js';

/** The phases remove runs after deploy's connect and facts. */
export const REMOVE_PHASE_NAMES = ['drain', 'etcd-members', 'reset'] as const;

export interface RemoveSettings {
  /** The hosts being removed (the run also reaches an etcd member that stays, to send `member remove`). */
  readonly removing: ReadonlySet<string>;
  /** An etcd member that stays: etcdctl runs there. */
  readonly etcdVia?: HostPlan;
  readonly force: boolean;
  readonly drainTimeoutMs: number;
  /** How the removed hosts are reset once out of the cluster. */
  readonly reset: ResetOptions;
}

/** Stops and disables units (they stay installed: not a reset). */
const stopUnits = async (ctx: DeployContext, hp: HostPlan, units: readonly string[]): Promise<string> => {
  if (!units.length) return 'nothing to stop';
  await ctx.wet(hp.host, `stop and disable ${units.join(', ')}`, () =>
    ctx.executor.exec(hp.host, `systemctl disable --now --quiet ${quoteAll(units)}`, { step: `stop ${units.join(', ')}`, sudo: true }),
  );
  return `${ctx.options.dryRun ? 'would stop' : 'stopped'} and disabled ${units.join(', ')}`;
};

const nodeUnits = (hp: HostPlan): string[] => hp.services.map((s) => s.unit).filter((u) => u === UNITS.kubelet || u === UNITS.kubeProxy);

export const removePhases = (s: RemoveSettings): readonly Phase[] => {
  const removed = (ctx: DeployContext): HostPlan[] => reachedHosts(ctx).filter((hp) => s.removing.has(hp.host.name));
  return [drainPhase(s, removed), etcdMembersPhase(s, removed), { ...resetPhase(s.reset), hosts: removed }];
};

type Removed = (ctx: DeployContext) => HostPlan[];

const drainPhase = (s: RemoveSettings, removed: Removed): Phase => ({
  name: 'drain',
  title: 'Drain and delete the Nodes',
  hosts: (ctx) => removed(ctx).filter((hp) => runsKubelet(hp.host)),
  steps: () => [
    {
      title: 'cordon',
      run: async (ctx, hp) => {
        if (ctx.options.dryRun) return 'would mark the Node unschedulable';
        return (await cordon(nodeApi(ctx), hp.host.name)) ? 'unschedulable' : 'no Node registered';
      },
    },
    {
      title: 'evict pods',
      run: async (ctx, hp) => {
        if (ctx.options.dryRun) return 'would evict its pods';
        return drain(nodeApi(ctx), hp.host.name, { force: s.force, timeoutMs: s.drainTimeoutMs, signal: ctx.options.signal });
      },
    },
    // Stopped before the Node is deleted, so the kubelet cannot register it again.
    { title: 'stop kubelet and kube-proxy', run: (ctx, hp) => stopUnits(ctx, hp, nodeUnits(hp)) },
    {
      title: 'delete the Node',
      run: async (ctx, hp) => {
        if (ctx.options.dryRun) return 'would delete the Node';
        const deleted = await deleteNode(nodeApi(ctx), hp.host.name);
        if (deleted) outcomeOf(ctx, hp.host).notes.push(`Node ${hp.host.name} deleted`);
        return deleted ? 'deleted' : 'no Node to delete';
      },
    },
  ],
});

/** `member remove` from a member that stays, checked again against the cluster as it is now. */
const removeMember = async (ctx: DeployContext, hp: HostPlan, via: HostPlan | undefined): Promise<string> => {
  if (!via) throw new KubeinstallError(`${hp.host.name}: no etcd member stays to send member remove to`);
  const { members, problem } = await readMembers(ctx.executor, via, inventoryEndpoints(ctx.model));
  if (!members) throw new KubeinstallError(`etcd member list (from ${via.host.name}): ${problem}`);
  const member = memberOf(members, hp.host);
  if (!member) return 'not an etcd member (never joined, or removed before)';
  const voting = members.filter((m) => !m.learner);
  const refusal = member.learner ? undefined : etcdRemovalRefusal(voting.length, 1);
  if (refusal) throw new KubeinstallError(`${hp.host.name}: refused: ${refusal}`);
  const endpoints = votingEndpoints(members.filter((m) => m !== member));
  await ctx.wet(hp.host, `remove etcd member ${member.id} (${members.length} -> ${members.length - 1})`, () =>
    // Refused as "unhealthy cluster" for a few seconds after a membership change: retried as deploy's joins are.
    untilAccepted(ctx, via, endpoints, ['member', 'remove', member.id], false, `etcd member remove ${hp.host.name}`),
  );
  if (!ctx.options.dryRun) outcomeOf(ctx, hp.host).notes.push(`etcd member ${member.id} removed`);
  return `${ctx.options.dryRun ? 'would remove' : 'removed'} member ${member.id}: ${members.length - 1} left`;
};

const etcdMembersPhase = (s: RemoveSettings, removed: Removed): Phase => ({
  name: 'etcd-members',
  title: 'Remove etcd members',
  hosts: (ctx) => removed(ctx).filter((hp) => hasRole(hp.host, 'etcd')),
  // One at a time: each removal is checked against the cluster the previous one left.
  concurrency: () => 1,
  steps: () => [
    { title: 'member remove', run: (ctx, hp) => removeMember(ctx, hp, s.etcdVia) },
    { title: 'stop etcd', run: (ctx, hp) => stopUnits(ctx, hp, [UNITS.etcd]) },
  ],
});
