import { describe, expect, it } from 'vitest';
import { runPhases } from '../manager.js';
import { factsRules, testContext, type HostState } from '../testing/cluster.js';
import { fakeExecutor } from '../testing/fake-executor.js';
import { controlPlanePhase } from './control-plane.js';
import { factsPhase } from './facts.js';

const MASTERS = ['m1', 'm2', 'm3'];

const concurrencyWith = async (state: HostState): Promise<number> => {
  const fake = fakeExecutor({ exec: factsRules(Object.fromEntries(MASTERS.map((m) => [m, state]))) });
  const { ctx } = testContext(fake, { hosts: new Set(MASTERS) });
  await runPhases([factsPhase], ctx, 'lines');
  return controlPlanePhase.roll!(ctx) ?? controlPlanePhase.concurrency!(ctx);
};

describe('control-plane phase', () => {
  it('restarts running API servers one master at a time (growing etcd changes every --etcd-servers), so the others keep serving', async () => {
    expect(await concurrencyWith({ pendingRestarts: ['kube-apiserver.service'] })).toBe(1);
  });

  it('starts the API servers of a new cluster together, and checks running ones together when none restarts', async () => {
    expect(await concurrencyWith({ units: { 'kube-apiserver.service': 'inactive' } })).toBe(3);
    expect(await concurrencyWith({})).toBe(3);
  });
});
