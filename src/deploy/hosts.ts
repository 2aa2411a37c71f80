// Which host plans a run touches: all of them, or those named by --hosts.
import type { ClusterModel, Role } from '../inventory/model.js';
import { UsageError } from '../util/errors.js';
import type { HostPlan, ServicePhase } from '../render/types.js';
import type { DeployContext } from './types.js';

export const hostsInRun = (ctx: DeployContext): HostPlan[] => ctx.plan.hosts.filter((hp) => !ctx.options.hosts || ctx.options.hosts.has(hp.host.name));

/** Hosts of the run that were reached (facts gathered): later phases act only on those. */
export const reachedHosts = (ctx: DeployContext): HostPlan[] => hostsInRun(ctx).filter((hp) => ctx.facts.has(hp.host.name));

export const hostsWithRole = (ctx: DeployContext, role: Role): HostPlan[] => reachedHosts(ctx).filter((hp) => hp.host.roles.includes(role));

export const hostsRunning = (ctx: DeployContext, phase: ServicePhase): HostPlan[] =>
  reachedHosts(ctx).filter((hp) => hp.services.some((s) => s.phase === phase));

/** `--hosts` naming a host the inventory does not have is a usage error (exit 2) naming it. */
export const checkHostsOption = (model: ClusterModel, hosts: ReadonlySet<string> | undefined, inventory: string): void => {
  const unknown = [...(hosts ?? [])].filter((name) => !model.hosts.some((h) => h.name === name));
  if (unknown.length) throw new UsageError(`--hosts: not in ${inventory}: ${unknown.join(', ')} (hosts: ${model.hosts.map((h) => h.name).join(', ')})`);
};
