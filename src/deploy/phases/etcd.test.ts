import { describe, expect, it } from 'vitest';
import { runPhases } from '../manager.js';
import { factsRules, plan, testContext, type HostState } from '../testing/cluster.js';
import { fakeExecutor, type Call, type ExecCall, type Rule } from '../testing/fake-executor.js';
import { factsPhase } from './facts.js';
import { etcdPhase } from './etcd.js';

const MEMBERS = plan.hosts.filter((hp) => hp.host.roles.includes('etcd')).map((hp) => hp.host.name);
const START = /^systemctl daemon-reload .*systemctl restart --no-block etcd\.service/;
const HEALTH = /etcdctl .* endpoint health/;

const memberList = MEMBERS.map((m, i) => `${i + 1}abc, started, ${m}, https://${m}:2380, https://${m}:2379, false`).join('\n');

const rules = (state: HostState, health: Rule['reply']): Rule[] => [
  ...factsRules(Object.fromEntries(MEMBERS.map((m) => [m, state]))),
  { command: START, reply: {} },
  { command: HEALTH, reply: health },
  { command: /member list/, reply: { stdout: memberList } },
];

const run = async (script: Rule[]) => {
  const fake = fakeExecutor({ exec: script });
  const { ctx } = testContext(fake, { hosts: new Set(MEMBERS) });
  await runPhases([factsPhase, etcdPhase], ctx, 'lines');
  expect(fake.unexpected).toEqual([]);
  const of = (pattern: RegExp, host: string): ExecCall => fake.execs(host).find((c) => pattern.test(c.command))!;
  return { fake, starts: MEMBERS.map((m) => of(START, m)), healths: MEMBERS.map((m) => of(HEALTH, m)) };
};

const story = (calls: readonly Call[]): string[] =>
  calls.flatMap((c) =>
    c.kind === 'exec' && (START.test(c.command) || HEALTH.test(c.command)) ? [`${START.test(c.command) ? 'restart' : 'health'} ${c.host}`] : [],
  );

describe('etcd phase', () => {
  it('on a running cluster restarts one member at a time, each once the previous one is healthy', async () => {
    // Every member runs and waits for a restart (its files changed in an earlier run).
    const { fake, starts, healths } = await run(rules({ pendingRestarts: ['etcd.service'] }, {}));
    expect(story(fake.calls)).toEqual(['restart m1', 'health m1', 'restart m2', 'health m2', 'restart m3', 'health m3']);
    for (let i = 1; i < MEMBERS.length; i++) expect(starts[i]!.seq).toBeGreaterThan(healths[i - 1]!.answered!);
  });

  it('starts the members of a new cluster together: none becomes healthy before a quorum of peers started', async () => {
    // A new etcd member waits for its peers: its health check only passes once a quorum was started.
    const quorum = Math.floor(MEMBERS.length / 2) + 1;
    const health: Rule['reply'] = (_call, calls) =>
      calls.filter((c) => c.kind === 'exec' && START.test(c.command)).length >= quorum ? {} : { code: 1, stderr: 'not healthy after 60 s (state: activating)' };
    const { fake, starts, healths } = await run([
      ...rules({ units: { 'etcd.service': 'inactive' } }, health),
      { command: /^journalctl -u etcd\.service/, reply: { stdout: 'waiting for peers' } },
    ]);
    expect(Math.max(...starts.map((c) => c.seq))).toBeLessThan(Math.min(...healths.map((c) => c.seq)));
    expect(story(fake.calls).slice(0, 3).sort()).toEqual(['restart m1', 'restart m2', 'restart m3']);
  });
});
