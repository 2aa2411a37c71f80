// etcd: every member starts at the same moment (a new member waits for its peers), then each must
// pass `etcdctl endpoint health`; an existing cluster restarts one member at a time instead.
import { UNITS } from '../../render/units.js';
import { hostsRunning } from '../hosts.js';
import { etcdctl, etcdEndpoint } from '../etcd-client.js';
import { servicesOf, startUnits, waitRemote, willStart } from '../services.js';
import type { DeployContext, Phase } from '../types.js';

const members = (ctx: DeployContext) => hostsRunning(ctx, 'etcd');

export const etcdPhase: Phase = {
  name: 'etcd',
  title: 'Start etcd',
  hosts: members,
  // A new cluster only reaches quorum when its members start together; a running one keeps quorum
  // only when members restart one at a time.
  concurrency: (ctx) => {
    const running = members(ctx).some((hp) => ctx.facts.get(hp.host.name)?.unitStates.get(UNITS.etcd) === 'active');
    const restarting = members(ctx).some((hp) => willStart(ctx, hp, UNITS.etcd));
    return running && restarting ? 1 : members(ctx).length;
  },
  steps: () => [
    {
      title: 'start etcd',
      run: (ctx, hp) =>
        startUnits(
          ctx,
          hp,
          servicesOf(hp, 'etcd').map((s) => s.unit),
        ),
    },
    {
      title: 'wait for endpoint health',
      run: async (ctx, hp) => {
        await waitRemote(ctx, hp, [UNITS.etcd], etcdctl(hp, [etcdEndpoint(hp)], ['endpoint', 'health']));
        return ctx.options.dryRun ? undefined : `${etcdEndpoint(hp)} is healthy`;
      },
    },
  ],
  finish: async (ctx) => {
    if (ctx.options.dryRun) return undefined;
    const first = members(ctx)[0]!;
    const { stdout } = await ctx.executor.exec(first.host, etcdctl(first, [etcdEndpoint(first)], ['member', 'list', '-w', 'simple']), {
      step: 'etcd member list',
      sudo: true,
    });
    const names = stdout
      .trim()
      .split('\n')
      .map((l) => l.split(',')[2]?.trim())
      .filter(Boolean);
    return `members: ${names.join(', ')}`;
  },
};
