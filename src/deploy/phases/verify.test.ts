import { describe, expect, it } from 'vitest';
import { renderKubeconfig } from '../../kubeconfig/kubeconfig.js';
import { ADMIN_KUBECONFIGS } from '../../pki/specs.js';
import { buildClusterPlan } from '../../render/plan.js';
import { ALL_BINARIES, binaryIndexFor, clusterFilesFor, modelFrom } from '../../render/test-fixtures.js';
import { PhaseFailed, runPhases } from '../manager.js';
import { describeConditions } from '../node-ready.js';
import { requestCommand } from '../on-host.js';
import { factsRules, testContext, type TestCluster } from '../testing/cluster.js';
import { fakeExecutor, type ExecCall, type Rule } from '../testing/fake-executor.js';
import { factsPhase } from './facts.js';
import { verifyPhase } from './verify.js';

// Reached through a bastion, so the Node API goes through m1 over SSH: the fake executor answers as the API.
const BASTION = 'ssh: { bastion: { address: 198.18.0.1 } }';
const model = modelFrom(
  `  - { name: m1, address: 198.18.0.11, roles: [etcd, master, node], ${BASTION} }\n  - { name: n1, address: 198.18.0.12, roles: [node], ${BASTION} }\n`,
);
// The admin kubeconfig the API is reached with (its PEM text is never checked: the requests go through the fake).
const clusterFiles = new Map([
  ...clusterFilesFor(model),
  [
    ADMIN_KUBECONFIGS.admin,
    Buffer.from(renderKubeconfig({ clusterName: 'test', server: 'https://198.18.0.11:6443', user: 'admin', caPem: 'ca', certPem: 'c', keyPem: 'k' })),
  ],
]);
const cluster: TestCluster = { model, clusterFiles, plan: buildClusterPlan(model, clusterFiles, binaryIndexFor(ALL_BINARIES)) };

const NETWORK =
  'container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized';
const notReady = { type: 'Ready', status: 'False', reason: 'KubeletNotReady', message: NETWORK, lastHeartbeatTime: '2026-12-01T09:00:00Z' };
const ready = { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' };

/** The units every host runs, all active, as the status query prints them. */
const unitsActive: Rule = {
  command: /systemctl is-active/,
  reply: (call) => ({ stdout: [...call.command.matchAll(/'?([\w.-]+\.service)'?/g)].map((m) => `unit=${m[1]}=active`).join('\n') }),
};

/** An answer of an API server that is restarting. */
const UNAVAILABLE: object[] = [];

/** The Node API on m1: each Node's conditions, the n-th read of a Node answered with the n-th entry (the last one stays). */
const nodeApi = (conditions: Record<string, object[][]>): Rule => {
  const reads = new Map<string, number>();
  return {
    host: 'm1',
    command: new RegExp(`^${requestCommand.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`),
    reply: (call: ExecCall) => {
      const { requests } = JSON.parse(call.opts.stdin as string) as { requests: { path: string }[] };
      const name = requests[0]!.path.split('/').pop()!;
      const n = reads.get(name) ?? 0;
      reads.set(name, n + 1);
      const answer = conditions[name]![Math.min(n, conditions[name]!.length - 1)]!;
      if (answer === UNAVAILABLE) return { stdout: `${JSON.stringify({ status: 503, body: 'the server is currently unable to handle the request' })}\n` };
      const node = { metadata: { name }, status: { conditions: answer } };
      return { stdout: `${JSON.stringify({ status: 200, body: JSON.stringify(node) })}\n` };
    },
  };
};

const verify = async (conditions: Record<string, object[][]>, options: { healthTimeoutMs?: number; allowNotReady?: boolean } = {}) => {
  const fake = fakeExecutor({ exec: [...factsRules({ m1: {}, n1: {} }, cluster), unitsActive, nodeApi(conditions)] });
  const { ctx } = testContext(fake, options, cluster);
  const result = await runPhases([factsPhase, verifyPhase], ctx, 'lines').catch((e: unknown) => e);
  expect(fake.unexpected).toEqual([]);
  return { ctx, result };
};

describe('verify phase: Nodes Ready', () => {
  it('waits until every kubelet host reports Ready through the API', async () => {
    const { ctx, result } = await verify({ m1: [[ready]], n1: [[notReady], [notReady], [ready]] });
    expect(result).toBeInstanceOf(Map);
    expect([...ctx.outcomes.values()].flatMap((o) => o.notes)).toEqual([]);
  });

  it('reads again after a failed read (an API server restarting), and names the last failure on a timeout', async () => {
    expect((await verify({ m1: [[ready]], n1: [UNAVAILABLE, [ready]] })).result).toBeInstanceOf(Map);
    const { result } = await verify({ m1: [[ready]], n1: [UNAVAILABLE] }, { healthTimeoutMs: 1500 });
    expect((result as PhaseFailed).message).toContain('n1: Node Ready: Node n1: not read within 1.5 s: reading Node n1: HTTP 503');
  });

  it('fails on a timeout naming the NotReady Node with its conditions as kubectl describe node prints them', async () => {
    const { result } = await verify({ m1: [[ready]], n1: [[notReady]] }, { healthTimeoutMs: 1500 });
    expect(result).toBeInstanceOf(PhaseFailed);
    const err = result as PhaseFailed;
    expect(err.exitCode).toBe(1);
    expect(err.failures.map((f) => f.host)).toEqual(['n1']);
    expect(err.message).toContain(`Node n1 is not Ready after 1.5 s: Ready=False KubeletNotReady: ${NETWORK}`);
    expect(err.message).toContain('--allow-not-ready');
    expect(describeConditions({ status: { conditions: [notReady] } }).split('\n')).toEqual([
      'Conditions:',
      '  Type   Status  LastHeartbeatTime     LastTransitionTime  Reason           Message',
      '  ----   ------  -----------------     ------------------  ------           -------',
      `  Ready  False   2026-12-01T09:00:00Z                      KubeletNotReady  ${NETWORK}`,
    ]);
  });

  it('with --allow-not-ready, does not wait for NotReady Nodes: each is a warning in the host notes', async () => {
    const started = Date.now();
    const { ctx, result } = await verify({ m1: [[ready]], n1: [[notReady]] }, { allowNotReady: true });
    expect(result).toBeInstanceOf(Map);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(ctx.outcomes.get('n1')?.notes).toEqual([`Node n1 is NotReady (--allow-not-ready): Ready=False KubeletNotReady: ${NETWORK}`]);
    expect(ctx.outcomes.get('m1')?.notes ?? []).toEqual([]);
  });

  it('waits for the first status of a Node whose kubelet has not posted one, even with --allow-not-ready', async () => {
    const { ctx } = await verify({ m1: [[ready]], n1: [[], [ready]] }, { allowNotReady: true });
    expect(ctx.outcomes.get('n1')?.notes ?? []).toEqual([]);
  });
});
