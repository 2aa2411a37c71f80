// Restarts of running node services roll --max-unavailable hosts at a time, each host behind its health gate;
// a failing gate stops the roll and leaves the hosts not started yet untouched. On the recording fake executor.
import { describe, expect, it } from 'vitest';
import { PhaseFailed, runPhases } from '../manager.js';
import type { MaxUnavailable } from '../roll.js';
import { factsRules, testContext, type HostState, nodeServicesPhase as nodeServices } from '../testing/cluster.js';
import { fakeExecutor, type ExecCall, type Rule } from '../testing/fake-executor.js';
import { UNITS } from '../../render/units.js';
import type { DeployOptions } from '../types.js';
import { factsPhase } from './facts.js';
import { nodesPhase } from './nodes.js';

const HOSTS = ['m1', 'm2', 'm3', 'n1', 'n2'];
const START = /^systemctl daemon-reload/;
const WAIT = /^deadline=/;

const everywhere = (state: HostState) => factsRules(Object.fromEntries(HOSTS.map((h) => [h, state])));
const kubeletPending: HostState = { pendingRestarts: [UNITS.kubelet] };

const rollWith = async (state: HostState, maxUnavailable?: MaxUnavailable): Promise<number | undefined> => {
  const fake = fakeExecutor({ exec: everywhere(state) });
  const { ctx } = testContext(fake, { ...(maxUnavailable ? { maxUnavailable } : {}) });
  await runPhases([factsPhase], ctx, 'lines');
  return nodesPhase.roll!(ctx);
};

/** Runs facts and the node services; returns the fake and the error, if the phase failed. */
const runNodes = async (rules: Rule[], options: Partial<DeployOptions> = {}) => {
  const fake = fakeExecutor({ exec: [...everywhere(kubeletPending), ...rules, { command: START, reply: {} }, { command: WAIT, reply: {} }] });
  const run = testContext(fake, options);
  const error = await runPhases([factsPhase, nodeServices], run.ctx, 'lines').then(
    () => undefined,
    (err: unknown) => err,
  );
  return { fake, error, ...run };
};

/** The most hosts between their restart and the end of their health gate at any moment. */
const mostAtOnce = (calls: readonly ExecCall[]): number => {
  const spans = HOSTS.flatMap((h) => {
    const start = calls.find((c) => c.host === h && START.test(c.command));
    const gate = calls.find((c) => c.host === h && WAIT.test(c.command));
    return start && gate ? [[start.seq, gate.answered!] as const] : [];
  });
  return Math.max(...spans.map(([from]) => spans.filter(([a, b]) => a <= from && from <= b).length));
};

describe('node services roll', () => {
  it('one host at a time by default when running node services restart; N or a percentage of the hosts with --max-unavailable', async () => {
    expect(await rollWith(kubeletPending)).toBe(1);
    expect(await rollWith(kubeletPending, { count: 2 })).toBe(2);
    expect(await rollWith(kubeletPending, { percent: 50 })).toBe(2); // 2.5 of 5 rounds down
    expect(await rollWith(kubeletPending, { percent: 10 })).toBe(1); // never below one
    expect(await rollWith(kubeletPending, { count: 9 })).toBe(5);
  });

  it('is not a roll on a new cluster (nothing runs yet) nor when nothing running restarts', async () => {
    const inactive = Object.fromEntries([UNITS.containerd, UNITS.kubelet, UNITS.kubeProxy, UNITS.kubeLb].map((u) => [u, 'inactive']));
    expect(await rollWith({ units: inactive })).toBeUndefined();
    expect(await rollWith({})).toBeUndefined();
  });

  it('restarts at most --max-unavailable hosts at once, each until its health gate passed', async () => {
    const one = await runNodes([]);
    expect(one.error).toBeUndefined();
    expect(mostAtOnce(one.fake.execs())).toBe(1);
    const two = await runNodes([], { maxUnavailable: { count: 2 } });
    expect(two.error).toBeUndefined();
    expect(mostAtOnce(two.fake.execs())).toBe(2);
    for (const h of HOSTS) expect(two.ctx.outcomes.get(h)?.restarted, h).toEqual([UNITS.kubelet]);
  });

  it('a failing health gate stops the roll naming the host; the hosts not started yet are left untouched', async () => {
    const { fake, error } = await runNodes([
      { host: 'm2', command: WAIT, reply: { code: 2, stderr: 'kubelet.service failed after 3 restarts' } },
      { host: 'm2', command: /^journalctl -u kubelet\.service/, reply: { stdout: 'E kubelet: --config: no such file' } },
    ]);
    expect(error).toBeInstanceOf(PhaseFailed);
    const message = (error as PhaseFailed).message;
    expect(message).toContain('m2: wait for node services: kubelet.service on m2 is not healthy: failed after 3 restarts');
    expect(message).toContain('the roll stopped there: m3, n1, n2 left untouched');
    expect((error as PhaseFailed).untouched).toEqual(['m3', 'n1', 'n2']);
    for (const h of ['m3', 'n1', 'n2'])
      expect(
        fake.execs(h).map((c) => c.opts.step),
        h,
      ).toEqual(['gather facts']);
    expect(fake.execs('m1').some((c) => START.test(c.command))).toBe(true);
  });

  it('a host that does not reach an external load balancer is named and left alone; the roll goes on (a check changes nothing)', async () => {
    const fake = fakeExecutor({
      exec: [
        ...everywhere(kubeletPending),
        { host: 'm2', command: /198\.18\.0\.10:6443\/readyz/, reply: { code: 1, stderr: 'not healthy after 60 s: [Errno 111] Connection refused' } },
        { command: START, reply: {} },
        { command: WAIT, reply: {} },
      ],
    });
    const { ctx } = testContext(fake);
    const behindLoadBalancer = {
      ...ctx,
      model: { ...ctx.model, apiEndpoint: { host: '198.18.0.10', port: 6443, kind: 'loadbalancer' as const, url: 'https://198.18.0.10:6443' } },
    };
    const error = await runPhases([factsPhase, nodeServices], behindLoadBalancer, 'lines').catch((e: unknown) => e);
    expect((error as PhaseFailed).failures.map((f) => [f.host, f.step])).toEqual([['m2', 'reach the API endpoint']]);
    expect((error as PhaseFailed).untouched).toEqual([]);
    expect(fake.execs('m2').some((c) => START.test(c.command))).toBe(false);
    for (const h of ['m1', 'm3', 'n1', 'n2']) expect(ctx.outcomes.get(h)?.restarted, h).toEqual([UNITS.kubelet]);
  });

  it('an upgrade cordons and drains each Node before its restart and uncordons it after (as a dry run shows)', async () => {
    const { fake, error, dryRunLines } = await runNodes([], { dryRun: true, upgrade: { drainTimeoutMs: 1000, force: false } });
    expect(error).toBeUndefined();
    expect(fake.execs().some((c) => START.test(c.command))).toBe(false);
    expect(dryRunLines.filter((l) => l.startsWith('n1: '))).toEqual(['n1: would cordon Node n1 and evict its pods', `n1: would start ${UNITS.kubelet}`]);
  });
});
