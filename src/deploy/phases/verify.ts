// Verify: every planned unit is active on every host of the run, and every kubelet host's Node is Ready
// through the API (a cluster whose Nodes are NotReady runs no pod: no network, no sandbox image). Where this
// run started nothing, the facts' states stand (and the service phases have just checked each unit's health).
import { setTimeout as sleep } from 'node:timers/promises';
import { getNode } from '../api-client.js';
import { reachedHosts } from '../hosts.js';
import { describeConditions, isReady, readyCondition, readySummary, type NodeWithStatus } from '../node-ready.js';
import { serviceFailed, unitStatus } from '../services.js';
import { outcomeOf, type Phase, type Step } from '../types.js';
import { UNITS } from '../../render/units.js';
import { KubeinstallError } from '../../util/errors.js';
import { nodeApi } from './nodes.js';

/** How often a Node's status is read while waiting (the kubelet posts a change at once). */
export const READY_POLL_MS = 1000;

const servicesRunning: Step = {
  title: 'services running',
  run: async (ctx, hp) => {
    const units = hp.services.map((s) => s.unit);
    if (!units.length) return 'no services here';
    const status = await unitStatus(ctx, hp.host, units);
    const down = units.filter((u) => status.get(u)?.state !== 'active');
    if (down.length && !ctx.options.dryRun)
      await serviceFailed(ctx, hp.host, down[0]!, `not active: ${down.map((u) => `${u} (${status.get(u)?.state})`).join(', ')}`);
    return `running: ${units.filter((u) => !down.includes(u)).join(', ') || 'none yet'}`;
  },
};

const notReady = (name: string, seconds: number, node: NodeWithStatus | undefined, failed: string | undefined): KubeinstallError =>
  failed
    ? new KubeinstallError(`Node ${name}: not read within ${seconds} s: ${failed}`)
    : new KubeinstallError(
        `Node ${name} is not Ready after ${seconds} s: ${readySummary(node)}\n${describeConditions(node)}\n` +
          'deploy --allow-not-ready accepts NotReady Nodes (e.g. until a pod network is applied)',
      );

/** Waits for the host's Node to be Ready; with --allow-not-ready only for its kubelet's first posted status, then warns. */
const nodeReady: Step = {
  title: 'Node Ready',
  run: async (ctx, hp) => {
    const name = hp.host.name;
    if (ctx.options.dryRun) return `would wait for Node ${name} to be Ready`;
    const api = nodeApi(ctx);
    const deadline = Date.now() + ctx.options.healthTimeoutMs;
    let node: NodeWithStatus | undefined;
    // A read that fails (an API server restarting) is retried like a NotReady answer; the last one is reported.
    let failed: string | undefined;
    for (;;) {
      try {
        node = (await getNode(api, name)) as NodeWithStatus | undefined;
        failed = undefined;
      } catch (err) {
        failed = (err as Error).message;
      }
      if (!failed && isReady(node)) return 'Ready';
      if (!failed && readyCondition(node) && ctx.options.allowNotReady) {
        const warning = `Node ${name} is NotReady (--allow-not-ready): ${readySummary(node)}`;
        outcomeOf(ctx, hp.host).notes.push(warning);
        return warning;
      }
      if (Date.now() >= deadline || ctx.options.signal.aborted) throw notReady(name, ctx.options.healthTimeoutMs / 1000, node, failed);
      await sleep(READY_POLL_MS);
    }
  },
};

export const verifyPhase: Phase = {
  name: 'verify',
  title: 'Verify',
  hosts: reachedHosts,
  steps: (_ctx, hp) => [servicesRunning, ...(hp.services.some((s) => s.unit === UNITS.kubelet) ? [nodeReady] : [])],
};
