// Control plane: kube-apiserver on every master, wait for /readyz with the admin client cert, apply
// the plan's RBAC manifests once (the first ready API server does it), then the other components.
import { applyManifest, waitForHttps } from '../api-client.js';
import { hostsRunning } from '../hosts.js';
import { servicesOf, serviceFailed, startUnits, unitBroken, waitRemote } from '../services.js';
import type { HostPlan, PlannedService } from '../../render/types.js';
import { UNITS } from '../../render/units.js';
import type { DeployContext, Phase, Step } from '../types.js';

/** Waits for a unit by its health probe: HTTPS from here with the admin cert, or on the host. */
export const waitHealthy = async (ctx: DeployContext, hp: HostPlan, service: PlannedService): Promise<string | undefined> => {
  if (ctx.options.dryRun) return undefined;
  if (service.health?.kind !== 'https') {
    await waitRemote(ctx, hp, service.unit, `systemctl is-active --quiet ${service.unit}`);
    return `${service.unit} active`;
  }
  // The API server's serving cert comes from our CA; controller-manager and scheduler sign their own.
  const problem = await waitForHttps(service.health.url, ctx.credentials('admin'), {
    timeoutMs: ctx.options.healthTimeoutMs,
    signal: ctx.options.signal,
    verifyServer: service.unit === UNITS.apiserver,
    giveUp: () => unitBroken(ctx, hp.host, service.unit),
  });
  if (problem) await serviceFailed(ctx, hp.host, service.unit, `${service.health.url}: ${problem}`);
  return `${service.health.url} ok`;
};

/** Start some units, then wait for each: the shape every service phase shares. */
export const startAndWait = (title: string, pick: (hp: HostPlan) => PlannedService[]): Step[] => [
  {
    title: `start ${title}`,
    run: (ctx, hp) =>
      startUnits(
        ctx,
        hp,
        pick(hp).map((s) => s.unit),
      ),
  },
  {
    title: `wait for ${title}`,
    // All at once: the units were started together, and each wait only reads. The first failure in
    // the plan's order is the one reported, as when waiting one after another.
    run: async (ctx, hp) => {
      const settled = await Promise.allSettled(pick(hp).map((s) => waitHealthy(ctx, hp, s)));
      const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      return settled.flatMap((r) => (r.status === 'fulfilled' && r.value ? [r.value] : [])).join(', ');
    },
  },
];

const applyRbac = (ctx: DeployContext, hp: HostPlan): Promise<string> =>
  ctx.once('rbac', async () => {
    if (ctx.options.dryRun) return `would apply ${ctx.plan.manifests.map((m) => m.name).join(', ')}`;
    const health = servicesOf(hp, 'control-plane').find((s) => s.unit === UNITS.apiserver)?.health;
    const server = health?.kind === 'https' ? new URL(health.url).origin : ctx.credentials('super-admin').server;
    const applied = [];
    for (const m of ctx.plan.manifests) applied.push(...(await applyManifest(server, ctx.credentials('super-admin'), m.name, m.yaml)));
    return `applied ${applied.join(', ')} through ${hp.host.name}`;
  });

const apiServer = (hp: HostPlan) => servicesOf(hp, 'control-plane').filter((s) => s.unit === UNITS.apiserver);
const controllers = (hp: HostPlan) => servicesOf(hp, 'control-plane').filter((s) => s.unit !== UNITS.apiserver);

export const controlPlanePhase: Phase = {
  name: 'control-plane',
  title: 'Start the control plane',
  hosts: (ctx) => hostsRunning(ctx, 'control-plane'),
  steps: () => [
    ...startAndWait('kube-apiserver', apiServer),
    { title: 'apply RBAC', run: applyRbac },
    ...startAndWait('controller-manager and scheduler', controllers),
  ],
};
