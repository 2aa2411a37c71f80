import { describe, expect, it } from 'vitest';
import { endpointFromNodeStep } from './endpoint-check.js';
import { nodesPhase } from './phases/nodes.js';
import { hostPlan, testContext } from './testing/cluster.js';
import { fakeExecutor } from './testing/fake-executor.js';
import type { DeployContext } from './types.js';

const REFUSED = 'not healthy after 60 s https://198.18.0.10:6443/readyz: [Errno 111] Connection refused';

/** The test cluster with its endpoint declared an external load balancer. */
const behindLoadBalancer = (ctx: DeployContext): DeployContext => ({
  ...ctx,
  model: { ...ctx.model, apiEndpoint: { host: '198.18.0.10', port: 6443, kind: 'loadbalancer', url: 'https://198.18.0.10:6443' } },
});

describe('the API endpoint reached from the nodes', () => {
  it('is checked first in the nodes phase only when it is an external load balancer', () => {
    const { ctx } = testContext(fakeExecutor({ exec: [] }));
    expect(nodesPhase.steps(ctx, hostPlan('n1')).map((s) => s.title)).not.toContain('reach the API endpoint');
    expect(nodesPhase.steps(behindLoadBalancer(ctx), hostPlan('n1'))[0]?.title).toBe('reach the API endpoint');
  });

  it('waits on the host for /readyz verified with the cluster CA, and names the host that does not reach it', async () => {
    const fake = fakeExecutor({ exec: [{ host: 'n1', command: /readyz/, reply: { code: 1, stderr: REFUSED } }] });
    const ctx = behindLoadBalancer(testContext(fake).ctx);
    const err = await endpointFromNodeStep.run(ctx, hostPlan('n1'), () => {}).catch((e: unknown) => e);
    expect((err as Error).message).toBe(
      `n1 does not reach the API through the load balancer https://198.18.0.10:6443 (apiEndpointKind: loadbalancer): ${REFUSED}`,
    );
    const [call] = fake.execs('n1');
    expect(call?.command).toContain('{"url":"https://198.18.0.10:6443/readyz","ca":"/etc/kubernetes/pki/ca.crt"}');
    expect(call?.opts).toMatchObject({ step: 'reach the API endpoint', sudo: true });
  });
});
