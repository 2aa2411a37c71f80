import { describe, expect, it } from 'vitest';
import type { ClusterModel, Host } from '../inventory/model.js';
import type { HostPlan } from '../render/types.js';
import type { Executor } from '../ssh/types.js';
import { createContext } from './context.js';
import { PhaseFailed, runPhases } from './manager.js';
import { PHASE_NAMES, type DeployContext, type DeployOptions, type Phase, type PhaseName } from './types.js';

const hostPlan = (name: string): HostPlan => ({ host: { name } as Host, files: [], services: [] });
const HOSTS = ['a', 'b', 'c', 'd'].map(hostPlan);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const context = (over: Partial<DeployOptions> = {}, dryRunLines: string[] = []): DeployContext =>
  createContext({
    model: {} as ClusterModel,
    plan: { hosts: HOSTS, manifests: [] },
    // These phases never reach a host: the manager's ordering, bounds and failures are under test.
    executor: {} as Executor,
    clusterFiles: new Map(),
    onDryRun: (host, what) => dryRunLines.push(`${host.name}: ${what}`),
    options: {
      dryRun: false,
      concurrency: 2,
      healthTimeoutMs: 1000,
      ignorePreflight: new Set(),
      phases: new Set(PHASE_NAMES),
      signal: new AbortController().signal,
      ...over,
    },
  });

const phase = (name: PhaseName, events: string[], failOn?: string): Phase => ({
  name,
  title: name,
  hosts: (ctx) => ctx.plan.hosts,
  steps: () =>
    ['one', 'two'].map((step) => ({
      title: step,
      run: async (_ctx, hp) => {
        events.push(`${name} ${hp.host.name} ${step} start`);
        await sleep(5);
        if (hp.host.name === failOn && step === 'one') throw new Error(`boom on ${hp.host.name}`);
        events.push(`${name} ${hp.host.name} ${step} end`);
      },
    })),
});

describe('phase manager', () => {
  it('runs each host’s steps in order, at most --concurrency hosts at once', async () => {
    const events: string[] = [];
    await runPhases([phase('connect', events)], context(), 'lines');
    for (const h of ['a', 'b', 'c', 'd']) {
      const mine = events.filter((e) => e.includes(` ${h} `));
      expect(mine).toEqual([`connect ${h} one start`, `connect ${h} one end`, `connect ${h} two start`, `connect ${h} two end`]);
    }
    let running = 0;
    let most = 0;
    for (const e of events) {
      if (e.endsWith('one start')) most = Math.max(most, ++running);
      if (e.endsWith('two end')) running--;
    }
    expect(most).toBe(2);
  });

  it('lets every host finish, reports each failing host and step, and stops before the next phase', async () => {
    const events: string[] = [];
    const err = await runPhases([phase('facts', events, 'b'), phase('upload', events)], context(), 'lines').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PhaseFailed);
    expect((err as PhaseFailed).failures).toEqual([{ host: 'b', step: 'one', message: 'boom on b' }]);
    expect(events).toContain('facts d two end');
    expect(events.some((e) => e.startsWith('upload'))).toBe(false);
  });

  it('runs only the selected phases', async () => {
    const events: string[] = [];
    await runPhases([phase('connect', events), phase('etcd', events)], context({ phases: new Set(['etcd']) }), 'lines');
    expect(new Set(events.map((e) => e.split(' ')[0]))).toEqual(new Set(['etcd']));
  });

  it('in dry-run describes changing actions instead of running them', async () => {
    const lines: string[] = [];
    const ctx = context({ dryRun: true }, lines);
    let ran = false;
    expect(await ctx.wet(HOSTS[0]!.host, 'restart etcd.service', async () => (ran = true))).toBeUndefined();
    expect([ran, lines]).toEqual([false, ['a: restart etcd.service']]);
  });
});
