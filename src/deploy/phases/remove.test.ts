import { describe, expect, it } from 'vitest';
import { etcdPeerUrl } from '../../render/etcd.js';
import { runPhases } from '../manager.js';
import { PHASE_NAMES } from '../types.js';
import { factsRules, hostPlan, testContext } from '../testing/cluster.js';
import { fakeExecutor } from '../testing/fake-executor.js';
import { factsPhase } from './facts.js';
import { REMOVE_PHASE_NAMES, removePhases } from './remove.js';

/** The reset phase that ends a removal is tested in src/reset; these tests run the phases before it. */
const RESET = { purgeData: false, etcdAside: '/var/lib/etcd.reset-test' };

const line = (name: string, i: number): string => {
  const peer = etcdPeerUrl(hostPlan(name).host);
  return `${i}abc, started, ${name}, ${peer}, ${peer.replace(':2380', ':2379')}, false`;
};

describe('remove phases (etcd part)', () => {
  it('sends member remove from a member that stays to the others, checked against the list of the moment, then stops etcd and the rest', async () => {
    let removed = false;
    const fake = fakeExecutor({
      exec: [
        ...factsRules({ m1: {}, m3: {} }),
        { command: /member list/, reply: () => ({ stdout: ['m1', 'm2', ...(removed ? [] : ['m3'])].map(line).join('\n') }) },
        { command: /member remove 2abc/, host: 'm1', reply: () => ((removed = true), {}) },
        { command: /^systemctl disable --now --quiet/, host: 'm3', reply: {} },
      ],
    });
    const { ctx } = testContext(fake, { hosts: new Set(['m1', 'm3']), phases: new Set([...PHASE_NAMES, ...REMOVE_PHASE_NAMES]) });
    const phases = removePhases({ removing: new Set(['m3']), etcdVia: hostPlan('m1'), force: false, drainTimeoutMs: 1000, reset: RESET }).filter(
      (p) => p.name === 'etcd-members',
    );
    await runPhases([factsPhase, ...phases], ctx, 'lines');
    expect(fake.unexpected).toEqual([]);
    const remove = fake.execs('m1').find((c) => /member remove/.test(c.command))!;
    expect(remove.command).toContain('--endpoints=https://127.0.12.1:2379,https://127.0.12.2:2379 ');
    const stops = fake.execs('m3').filter((c) => /disable --now/.test(c.command));
    expect(stops[0]!.command).toBe('systemctl disable --now --quiet etcd.service');
    expect(stops[0]!.seq).toBeGreaterThan(remove.answered!);
    expect(fake.execs('m1').filter((c) => /disable/.test(c.command))).toEqual([]); // the member that stays keeps running
  });

  it('refuses a removal the cluster of the moment cannot afford, though the request passed (a member was lost meanwhile)', async () => {
    const fake = fakeExecutor({
      exec: [...factsRules({ m1: {}, m3: {} }), { command: /member list/, reply: { stdout: ['m1', 'm3'].map(line).join('\n') } }],
    });
    const { ctx } = testContext(fake, { hosts: new Set(['m1', 'm3']), phases: new Set([...PHASE_NAMES, ...REMOVE_PHASE_NAMES]) });
    const phases = removePhases({ removing: new Set(['m3']), etcdVia: hostPlan('m1'), force: false, drainTimeoutMs: 1000, reset: RESET }).filter(
      (p) => p.name === 'etcd-members',
    );
    await expect(runPhases([factsPhase, ...phases], ctx, 'lines')).rejects.toThrow(
      /m3: refused: removing 1 of 2 etcd members leaves 1, fewer than a majority \(2\)/,
    );
    expect(fake.execs().filter((c) => /member remove|disable/.test(c.command))).toEqual([]);
  });
});
