// Nodes: an external load balancer reached from each node first, then containerd, the offline images imported into it,
// kubelet and kube-proxy in the plan's order (on masters too), then each Node's labels and taints through the API once its kubelet registered it.
// Restarts of running node services roll, --max-unavailable hosts at a time, each behind its health gate (the
// services healthy, the Node registered, its kubelet's status posted since the restart and Ready); an upgrade
// cordons and drains each Node before and uncordons it after.
import { checksEndpointFromNodes, endpointFromNodeStep } from '../endpoint-check.js';
import { directApi, getNode, patchNode, type ApiTransport, type HttpsResult } from '../api-client.js';
import { cordon, drain, uncordon } from '../drain.js';
import { hostsRunning } from '../hosts.js';
import { importImagesStep, startContainerdStep } from '../images.js';
import { batchSize, DEFAULT_MAX_UNAVAILABLE } from '../roll.js';
import { reachedDirectly, requestCommand, requestStdin } from '../on-host.js';
import { desiredNodeMeta } from '../../inventory/node-meta.js';
import { nodeMetaPatch, UPGRADE_CORDON_ANNOTATION, type NodeObject } from '../node-meta.js';
import { isReady, readyCondition, readySummary, type NodeWithStatus } from '../node-ready.js';
import { rollSize, servicesOf, willStart } from '../services.js';
import { outcomeOf, type DeployContext, type Phase, type Step } from '../types.js';
import { KubeinstallError } from '../../util/errors.js';
import type { HostPlan } from '../../render/types.js';
import { UNITS } from '../../render/units.js';
import { startAndWait } from './control-plane.js';
import { podCidrStep } from '../pod-cidr.js';

const POLL_MS = 500;
/** A Node that changed between our read and our patch (409) is read again, this many times at most. */
const PATCH_ATTEMPTS = 5;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The API with the admin credentials: from this machine, or, when the masters are reached through a bastion
 * (so not from here), from the first master over SSH, the credentials on stdin as for the RBAC apply. */
export const nodeApi = (ctx: DeployContext): ApiTransport => {
  const creds = ctx.credentials('admin');
  const via = ctx.plan.hosts.find((h) => h.host.roles.includes('master'))?.host;
  if (!via || reachedDirectly(via)) return directApi(creds.server, creds);
  return async (request) => {
    const step = `Node API on ${via.name}`;
    const res = await ctx.executor.exec(via, requestCommand, { step, stdin: requestStdin(creds.server, creds, [request]), allowFailure: true });
    const answer = res.stdout.split('\n').find((l) => l.startsWith('{'));
    if (res.code !== 0 || !answer) throw new KubeinstallError(`${step} (not reached directly: ssh.bastion): ${res.stderr.trim() || `exit code ${res.code}`}`);
    return JSON.parse(answer) as HttpsResult;
  };
};

/** The Node, once the kubelet registered it. */
export const registeredNode = async (ctx: DeployContext, hp: HostPlan): Promise<NodeObject> => {
  const { server } = ctx.credentials('admin');
  const deadline = Date.now() + ctx.options.healthTimeoutMs;
  for (;;) {
    const node = await getNode(nodeApi(ctx), hp.host.name);
    if (node) return node as NodeObject;
    if (Date.now() >= deadline || ctx.options.signal.aborted) {
      throw new KubeinstallError(
        `${hp.host.name}: the kubelet did not register Node ${hp.host.name} with ${server} within ${ctx.options.healthTimeoutMs / 1000} s`,
      );
    }
    await sleep(POLL_MS);
  }
};

const labelAndTaint: Step = {
  title: 'label and taint the Node',
  run: async (ctx, hp) => {
    const desired = desiredNodeMeta(hp.host);
    if (ctx.options.dryRun) return `would keep ${Object.keys(desired.labels).length} label(s) and ${desired.taints.length} taint(s) in step`;
    for (let attempt = 1; ; attempt++) {
      const node = await registeredNode(ctx, hp);
      const change = nodeMetaPatch(node, desired);
      if (!change) return 'labels and taints in step';
      const { server } = ctx.credentials('admin');
      const res = await patchNode(nodeApi(ctx), hp.host.name, change.patch);
      if (res.status === 409 && attempt < PATCH_ATTEMPTS) continue;
      if (res.status < 200 || res.status >= 300) {
        throw new KubeinstallError(`${hp.host.name}: labelling Node ${hp.host.name} through ${server}: HTTP ${res.status}: ${res.body.slice(0, 300)}`);
      }
      const what = change.changes.join(', ') || 'recorded which labels and taints kubeinstall manages';
      outcomeOf(ctx, hp.host).notes.push(`Node labels and taints: ${what}`);
      return what;
    }
  },
};

const nodeUnits = (hp: HostPlan): string[] => servicesOf(hp, 'node').map((s) => s.unit);

/** Whether this run restarts node services on a host whose kubelet runs: its pods are drained first in an upgrade. */
const restartsRunningKubelet = (ctx: DeployContext, hp: HostPlan): boolean =>
  ctx.facts.get(hp.host.name)?.unitStates.get(UNITS.kubelet) === 'active' && nodeUnits(hp).some((u) => willStart(ctx, hp, u));

const cordonAndDrain: Step = {
  title: 'cordon and drain the Node',
  run: async (ctx, hp) => {
    if (!restartsRunningKubelet(ctx, hp)) return 'nothing running restarts here: not drained';
    const name = hp.host.name;
    const done = await ctx.wet(hp.host, `cordon Node ${name} and evict its pods`, async () => {
      const api = nodeApi(ctx);
      const node = (await getNode(api, name)) as NodeObject | undefined;
      if (!node) return 'no Node registered: nothing to drain';
      // Marked as ours, so that it is uncordoned after the restart (a re-run after a failure too); one its operator cordoned stays so.
      if (!node.spec?.unschedulable) await cordon(api, name, { [UPGRADE_CORDON_ANNOTATION]: 'true' });
      const { force, drainTimeoutMs } = ctx.options.upgrade!;
      return `cordoned, ${await drain(api, name, { force, timeoutMs: drainTimeoutMs, signal: ctx.options.signal })}`;
    });
    return done ?? 'would cordon and drain';
  },
};

/** The Ready condition's heartbeat before this run restarted a running kubelet: the roll's gate waits for a newer one. */
const heartbeatsBefore = new WeakMap<DeployContext, Map<string, string | undefined>>();

const heartbeatOf = async (ctx: DeployContext, hp: HostPlan) => {
  const node = (await getNode(nodeApi(ctx), hp.host.name)) as NodeWithStatus | undefined;
  return { node, beat: readyCondition(node)?.lastHeartbeatTime };
};

const noteHeartbeat: Step = {
  title: 'read the Node status',
  checksOnly: true,
  run: async (ctx, hp) => {
    // The kubelet itself restarting: only then does it post its status at once (otherwise on a change, or minutes later).
    const running = ctx.facts.get(hp.host.name)?.unitStates.get(UNITS.kubelet) === 'active';
    if (ctx.options.dryRun || !running || !willStart(ctx, hp, UNITS.kubelet)) return undefined;
    const { beat } = await heartbeatOf(ctx, hp);
    heartbeatsBefore.set(ctx, (heartbeatsBefore.get(ctx) ?? new Map()).set(hp.host.name, beat));
    return beat ? `last heartbeat ${beat}` : 'no status posted yet';
  },
};

/** The gate through the API after a running kubelet restarted: it posted its Node's status since, Ready (with
 * --allow-not-ready: any status, as verify accepts). */
const nodeStatusGate: Step = {
  title: 'Node status posted since the restart',
  run: async (ctx, hp) => {
    const before = heartbeatsBefore.get(ctx);
    if (ctx.options.dryRun || !before?.has(hp.host.name)) return undefined;
    const deadline = Date.now() + ctx.options.healthTimeoutMs;
    for (;;) {
      const { node, beat } = await heartbeatOf(ctx, hp);
      const fresh = beat !== undefined && beat !== before.get(hp.host.name);
      if (fresh && (isReady(node) || ctx.options.allowNotReady)) return readySummary(node);
      if (Date.now() >= deadline || ctx.options.signal.aborted) {
        const why = fresh ? readySummary(node) : `no status posted since its restart (last heartbeat ${beat ?? 'none'})`;
        throw new KubeinstallError(`Node ${hp.host.name}: ${why} after ${ctx.options.healthTimeoutMs / 1000} s`);
      }
      await sleep(POLL_MS);
    }
  },
};

const uncordonStep: Step = {
  title: 'uncordon the Node',
  run: async (ctx, hp) => {
    if (ctx.options.dryRun) return restartsRunningKubelet(ctx, hp) ? 'would uncordon (unless cordoned before)' : undefined;
    const api = nodeApi(ctx);
    const node = (await getNode(api, hp.host.name)) as NodeObject | undefined;
    if (node?.metadata.annotations?.[UPGRADE_CORDON_ANNOTATION] === undefined) return 'not cordoned by an upgrade: left as it was';
    await uncordon(api, hp.host.name, { [UPGRADE_CORDON_ANNOTATION]: null });
    outcomeOf(ctx, hp.host).notes.push(`Node ${hp.host.name} drained, restarted and uncordoned`);
    return 'schedulable again';
  },
};

export const nodesPhase: Phase = {
  name: 'nodes',
  title: 'Start node services',
  hosts: (ctx) => hostsRunning(ctx, 'node'),
  roll: (ctx) => {
    const all = ctx.plan.hosts.filter((hp) => nodeUnits(hp).length).length;
    return rollSize(ctx, hostsRunning(ctx, 'node'), nodeUnits, batchSize(ctx.options.maxUnavailable ?? DEFAULT_MAX_UNAVAILABLE, all));
  },
  steps: (ctx) => [
    ...(checksEndpointFromNodes(ctx) ? [endpointFromNodeStep] : []),
    ...(ctx.options.upgrade ? [cordonAndDrain] : []),
    noteHeartbeat,
    // containerd first: the offline images go into it before the kubelet asks for them
    startContainerdStep,
    importImagesStep,
    ...startAndWait('node services', (hp) => servicesOf(hp, 'node').filter((s) => s.unit !== UNITS.containerd)),
    labelAndTaint,
    podCidrStep,
    nodeStatusGate,
    ...(ctx.options.upgrade ? [uncordonStep] : []),
  ],
};
