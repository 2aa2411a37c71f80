// Control plane: kube-apiserver on every master, wait for /readyz with the admin client cert, apply
// the plan's manifests once (RBAC, then CoreDNS; the first ready API server does it), then the other components.
// What listens on 127.0.0.1, and a master this machine does not reach, is probed on the host over SSH.
import { applyFailed, applyManifest, applyRequests, waitForHttps } from '../api-client.js';
import { hostsRunning } from '../hosts.js';
import { reachedDirectly, requestCommand, requestStdin } from '../on-host.js';
import { probeCommand, type HostProbe } from '../../render/probe.js';
import { rollSize, servicesOf, serviceFailed, startUnits, unitBroken, waitRemote } from '../services.js';
import { pki } from '../../render/paths.js';
import type { HostPlan, PlannedService } from '../../render/types.js';
import { UNITS } from '../../render/units.js';
import { KubeinstallError } from '../../util/errors.js';
import { quote } from '../../util/shell.js';
import type { DeployContext, Phase, Step } from '../types.js';

/** The probe a service gets on its host, if it is probed there: the listeners on 127.0.0.1, and the API
 * server of a master this machine does not reach (anonymous /readyz, as kubeadm's probes, checked
 * against the cluster CA the master holds). */
const probeOnHost = (hp: HostPlan, s: PlannedService): HostProbe | undefined => {
  if (s.health?.kind === 'on-host') return { url: s.health.url, ...(s.health.ca ? { ca: s.health.ca } : {}) };
  if (s.health?.kind === 'https' && !reachedDirectly(hp.host)) return { url: s.health.url, ca: pki('ca.crt') };
  return undefined;
};
type ProbedHere = PlannedService & { readonly health: { readonly kind: 'https'; readonly url: string } };
const probedHere =
  (hp: HostPlan) =>
  (s: PlannedService): s is ProbedHere =>
    s.health?.kind === 'https' && reachedDirectly(hp.host);

/** Waits for the API server from this machine, with the admin client certificate. */
const waitHere = async (ctx: DeployContext, hp: HostPlan, service: ProbedHere): Promise<string> => {
  const problem = await waitForHttps(service.health.url, ctx.credentials('admin'), {
    timeoutMs: ctx.options.healthTimeoutMs,
    signal: ctx.options.signal,
    verifyServer: true,
    giveUp: () => unitBroken(ctx, hp.host, service.unit),
  });
  if (problem) await serviceFailed(ctx, hp.host, service.unit, `${service.health.url}: ${problem}`);
  return `${service.health.url} ok`;
};

/** Waits for every other service of the host with one command on it: its probe, or `systemctl is-active`. */
const waitOnHost = async (ctx: DeployContext, hp: HostPlan, services: readonly PlannedService[]): Promise<string> => {
  const probes = services.flatMap((s) => probeOnHost(hp, s) ?? []);
  const probe = [
    ...services.filter((s) => !probeOnHost(hp, s)).map((s) => `systemctl is-active --quiet ${quote(s.unit)}`),
    ...(probes.length ? [probeCommand(probes)] : []),
  ].join(' && ');
  const named = (complaint: string) => (s: PlannedService) => {
    const p = probeOnHost(hp, s);
    return p !== undefined && complaint.includes(p.url);
  };
  const blame = (complaint: string) => (services.find(named(complaint)) ?? services[0]!).unit;
  await waitRemote(
    ctx,
    hp,
    services.map((s) => s.unit),
    probe,
    blame,
  );
  return services.map((s) => `${probeOnHost(hp, s)?.url ?? s.unit} ${probeOnHost(hp, s) ? 'ok' : 'active'}`).join(', ');
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
    // All at once: the units were started together, and each wait only reads. The first failure
    // (the API server's probe from here, then the host's) is the one reported.
    run: async (ctx, hp) => {
      if (ctx.options.dryRun) return undefined;
      const here = pick(hp).filter(probedHere(hp));
      const there = pick(hp).filter((s) => !probedHere(hp)(s));
      const settled = await Promise.allSettled([...here.map((s) => waitHere(ctx, hp, s)), ...(there.length ? [waitOnHost(ctx, hp, there)] : [])]);
      const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      return settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : [])).join(', ');
    },
  },
];

/** Applies the plan's manifests from this machine, or from the master itself when this machine does not
 * reach it (the super-admin credentials go over SSH on stdin). */
const applyRbac = (ctx: DeployContext, hp: HostPlan): Promise<string> =>
  ctx.once('rbac', async () => {
    if (ctx.options.dryRun) return `would apply ${ctx.plan.manifests.map((m) => m.name).join(', ')}`;
    const health = servicesOf(hp, 'control-plane').find((s) => s.unit === UNITS.apiserver)?.health;
    const server = health?.kind === 'https' ? new URL(health.url).origin : ctx.credentials('super-admin').server;
    const creds = ctx.credentials('super-admin');
    if (reachedDirectly(hp.host)) {
      const applied = [];
      for (const m of ctx.plan.manifests) applied.push(...(await applyManifest(server, creds, m.name, m.yaml)));
      return `applied ${applied.join(', ')} through ${hp.host.name}`;
    }
    const requests = ctx.plan.manifests.flatMap((m) => applyRequests(m.name, m.yaml).map((r) => ({ ...r, manifest: m.name })));
    const res = await ctx.executor.exec(hp.host, requestCommand, {
      step: 'apply RBAC on the master',
      stdin: requestStdin(server, creds, requests),
      allowFailure: true,
    });
    const answers = res.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { status: number; body: string });
    const bad = answers.findIndex((a) => a.status < 200 || a.status >= 300);
    if (bad >= 0) throw applyFailed(requests[bad]!.what, requests[bad]!.manifest, server, answers[bad]!.status, answers[bad]!.body);
    if (res.code !== 0 || answers.length !== requests.length) {
      throw new KubeinstallError(`applying RBAC on ${hp.host.name} (not reached directly: ssh.bastion): ${res.stderr.trim() || `exit code ${res.code}`}`);
    }
    return `applied ${requests.map((r) => r.what).join(', ')} on ${hp.host.name}`;
  });

/** A master's kube-apiserver (also what `etcd restore` stops and starts again). */
export const apiServerServices = (hp: HostPlan): PlannedService[] => servicesOf(hp, 'control-plane').filter((s) => s.unit === UNITS.apiserver);
const controllers = (hp: HostPlan) => servicesOf(hp, 'control-plane').filter((s) => s.unit !== UNITS.apiserver);

export const controlPlanePhase: Phase = {
  name: 'control-plane',
  title: 'Start the control plane',
  hosts: (ctx) => hostsRunning(ctx, 'control-plane'),
  // A change that restarts running API servers (growing etcd changes every --etcd-servers) rolls through
  // the masters, each ready again before the next stops, so the others keep serving.
  concurrency: (ctx) => hostsRunning(ctx, 'control-plane').length,
  roll: (ctx) => rollSize(ctx, hostsRunning(ctx, 'control-plane'), () => [UNITS.apiserver]),
  steps: () => [
    ...startAndWait('kube-apiserver', apiServerServices),
    { title: 'apply manifests', run: applyRbac },
    ...startAndWait('controller-manager and scheduler', controllers),
  ],
};
