import { describe, expect, it } from 'vitest';
import { etcdPeerUrl } from '../../render/etcd.js';
import { runPhases } from '../manager.js';
import { etcdHasLearners, startKind } from '../etcd-members.js';
import { factsRules, hostPlan, plan, testContext, type HostState } from '../testing/cluster.js';
import { fakeExecutor, type Call, type ExecCall, type Rule } from '../testing/fake-executor.js';
import { factsPhase } from './facts.js';
import { etcdPhase } from './etcd.js';

const MEMBERS = plan.hosts.filter((hp) => hp.host.roles.includes('etcd')).map((hp) => hp.host.name);
const START = /systemctl restart --no-block etcd\.service/;
const HEALTH = /etcdctl .* endpoint health/;
const DATA = /^test -d '?\/var\/lib\/etcd\/member/;
const LIST = /etcdctl .* member list/;
const RESTORE = /^mv -f '?\/etc\/etcd\/etcd\.conf\.yml\.planned/;

const peer = (name: string): string => etcdPeerUrl(hostPlan(name).host);
const client = (name: string): string => peer(name).replace(':2380', ':2379');
/** `member list -w simple` as etcd 3.4 prints it; an unstarted member has no name and no client URL. */
const listLine = (name: string, i: number, opts: { started?: boolean; learner?: boolean } = {}): string =>
  opts.started === false
    ? `${i + 1}abc, unstarted, , ${peer(name)}, , ${opts.learner === true}`
    : `${i + 1}abc, started, ${name}, ${peer(name)}, ${client(name)}, ${opts.learner === true}`;
const memberList = MEMBERS.map((m, i) => listLine(m, i)).join('\n');

const rules = (state: HostState, health: Rule['reply'], existing = true): Rule[] => [
  ...factsRules(Object.fromEntries(MEMBERS.map((m) => [m, state]))),
  { command: DATA, reply: { code: existing ? 0 : 1 } },
  { command: START, reply: {} },
  { command: HEALTH, reply: health },
  { command: RESTORE, reply: {} },
  // A new cluster answers once its members started.
  {
    command: LIST,
    reply: (_call, calls) =>
      existing || calls.some((c) => c.kind === 'exec' && START.test(c.command)) ? { stdout: memberList } : { code: 1, stderr: 'context deadline exceeded' },
  },
];

const run = async (script: Rule[]) => {
  const fake = fakeExecutor({ exec: script });
  const { ctx } = testContext(fake, { hosts: new Set(MEMBERS) });
  await runPhases([factsPhase, etcdPhase], ctx, 'lines');
  expect(fake.unexpected).toEqual([]);
  const of = (pattern: RegExp, host: string): ExecCall => fake.execs(host).find((c) => pattern.test(c.command))!;
  return { fake, ctx, starts: MEMBERS.map((m) => of(START, m)), healths: MEMBERS.map((m) => of(HEALTH, m)) };
};

const story = (calls: readonly Call[]): string[] =>
  calls.flatMap((c) =>
    c.kind === 'exec' && (START.test(c.command) || HEALTH.test(c.command)) ? [`${START.test(c.command) ? 'restart' : 'health'} ${c.host}`] : [],
  );

/** The etcd config a first start wrote (its stdin), as key -> value. */
const firstConfig = (c: ExecCall): Record<string, string> =>
  Object.fromEntries(
    String(c.opts.stdin)
      .split('\n')
      .filter((l) => /^initial-cluster(-state)?:/.test(l))
      .map((l) => l.split(': ') as [string, string]),
  );

describe('etcd phase', () => {
  it('on a running cluster restarts one member at a time, each once the previous one is healthy', async () => {
    // Every member runs and waits for a restart (its files changed in an earlier run).
    const { fake, starts, healths } = await run(rules({ pendingRestarts: ['etcd.service'] }, {}));
    expect(story(fake.calls)).toEqual(['restart m1', 'health m1', 'restart m2', 'health m2', 'restart m3', 'health m3']);
    for (let i = 1; i < MEMBERS.length; i++) expect(starts[i]!.seq).toBeGreaterThan(healths[i - 1]!.answered!);
    expect(fake.execs().filter((c) => /member (add|promote)/.test(c.command) || c.opts.stdin !== undefined)).toEqual([]);
  });

  it('starts the members of a new cluster together, each with `new` and every member, then puts the planned config back', async () => {
    // A new etcd member waits for its peers: its health check only passes once a quorum was started.
    const quorum = Math.floor(MEMBERS.length / 2) + 1;
    const health: Rule['reply'] = (_call, calls) =>
      calls.filter((c) => c.kind === 'exec' && START.test(c.command)).length >= quorum ? {} : { code: 1, stderr: 'not healthy after 60 s (state: activating)' };
    const { fake, starts, healths } = await run([
      ...rules({ units: { 'etcd.service': 'inactive' } }, health, false),
      { command: /^journalctl -u etcd\.service/, reply: { stdout: 'waiting for peers' } },
    ]);
    expect(Math.max(...starts.map((c) => c.seq))).toBeLessThan(Math.min(...healths.map((c) => c.seq)));
    expect(story(fake.calls).slice(0, 3).sort()).toEqual(['restart m1', 'restart m2', 'restart m3']);
    for (const s of starts)
      expect(firstConfig(s)).toEqual({ 'initial-cluster': MEMBERS.map((m) => `${m}=${peer(m)}`).join(','), 'initial-cluster-state': 'new' });
    for (const m of MEMBERS) {
      const restore = fake.execs(m).find((c) => RESTORE.test(c.command));
      expect(restore?.seq, m).toBeGreaterThan(fake.execs(m).find((c) => HEALTH.test(c.command))!.seq);
    }
  });

  it('adds a missing member as a learner once the others are healthy, with `existing` and the current members; promotes it in sync', async () => {
    const [m1, m2, m3] = MEMBERS as [string, string, string];
    let added = false;
    let promoteTries = 0;
    const fake = fakeExecutor({
      exec: [
        ...factsRules({ [m1]: {}, [m2]: {}, [m3]: { units: { 'etcd.service': 'inactive' } } }),
        { command: DATA, host: m3, reply: { code: 1 } },
        { command: DATA, reply: {} },
        {
          command: /member add/,
          reply: () => {
            added = true;
            return { stdout: 'Member 3abc added' };
          },
        },
        {
          command: LIST,
          reply: () => ({ stdout: [listLine(m1, 0), listLine(m2, 1), ...(added ? [listLine(m3, 2, { started: false, learner: true })] : [])].join('\n') }),
        },
        // etcd refuses to promote a learner that has not caught up with the leader.
        {
          command: /member promote 3abc/,
          reply: () => (++promoteTries < 2 ? { code: 1, stderr: 'etcdserver: can only promote a learner member which is in sync with leader' } : {}),
        },
        { command: /systemctl show -p ActiveState/, reply: { stdout: 'ActiveState=active\nNRestarts=0' } },
        { command: START, reply: {} },
        { command: HEALTH, reply: {} },
        { command: RESTORE, reply: {} },
      ],
    });
    const { ctx } = testContext(fake, { hosts: new Set(MEMBERS) });
    await runPhases([factsPhase, etcdPhase], ctx, 'lines');
    expect(fake.unexpected).toEqual([]);
    const m3Calls = fake.execs(m3).filter((c) => !DATA.test(c.command) && !/os-release/.test(c.command));
    const steps = m3Calls.map((c) =>
      /member add/.test(c.command)
        ? 'add'
        : /promote/.test(c.command)
          ? 'promote'
          : START.test(c.command)
            ? 'start'
            : HEALTH.test(c.command)
              ? 'health'
              : RESTORE.test(c.command)
                ? 'restore'
                : LIST.test(c.command)
                  ? 'list'
                  : 'state',
    );
    expect(steps).toEqual(['list', 'add', 'list', 'start', 'promote', 'state', 'promote', 'health', 'restore']);
    expect(m3Calls.find((c) => /member add/.test(c.command))!.command).toContain(`member add m3 --peer-urls=${peer(m3)} --learner`);
    // m1 and m2 were healthy before m3 was added; neither restarted.
    const add = fake.execs(m3).find((c) => /member add/.test(c.command))!;
    for (const m of [m1, m2]) expect(fake.execs(m).find((c) => HEALTH.test(c.command))!.answered!).toBeLessThan(add.seq);
    expect(
      fake
        .execs()
        .filter((c) => START.test(c.command))
        .map((c) => c.host),
    ).toEqual([m3]);
    expect(firstConfig(m3Calls.find((c) => START.test(c.command))!)).toEqual({
      'initial-cluster': `${m1}=${peer(m1)},${m2}=${peer(m2)},${m3}=${peer(m3)}`,
      'initial-cluster-state': 'existing',
    });
    expect(ctx.outcomes.get(m1)?.restarted ?? []).toEqual([]);
  });

  it('in a dry run says which member would join, from the member list read once, and changes nothing', async () => {
    const [m1, m2, m3] = MEMBERS as [string, string, string];
    const fake = fakeExecutor({
      exec: [
        ...factsRules({ [m1]: {}, [m2]: {}, [m3]: { units: { 'etcd.service': 'inactive' } } }),
        { command: DATA, host: m3, reply: { code: 1 } },
        { command: DATA, reply: {} },
        { command: LIST, reply: { stdout: [listLine(m1, 0), listLine(m2, 1)].join('\n') } },
      ],
    });
    const { ctx, dryRunLines } = testContext(fake, { hosts: new Set(MEMBERS), dryRun: true });
    await runPhases([factsPhase, etcdPhase], ctx, 'lines');
    expect(fake.unexpected).toEqual([]);
    expect(dryRunLines).toEqual(['m3: would join m3 to etcd (2 members): add it as a learner, start it, promote it']);
  });

  it('moves aside the data of a member the running cluster no longer lists (it was removed), then joins it again', async () => {
    const [m1, m2, m3] = MEMBERS as [string, string, string];
    let added = false;
    const fake = fakeExecutor({
      exec: [
        ...factsRules({ [m1]: {}, [m2]: {}, [m3]: { units: { 'etcd.service': 'failed' } } }),
        { command: DATA, reply: {} },
        { command: /member add/, reply: () => ((added = true), {}) },
        {
          command: LIST,
          reply: () => ({ stdout: [listLine(m1, 0), listLine(m2, 1), ...(added ? [listLine(m3, 2, { started: false, learner: true })] : [])].join('\n') }),
        },
        { command: /member promote/, reply: {} },
        { command: START, reply: {} },
        { command: HEALTH, reply: {} },
        { command: RESTORE, reply: {} },
      ],
    });
    const { ctx } = testContext(fake, { hosts: new Set(MEMBERS) });
    await runPhases([factsPhase, etcdPhase], ctx, 'lines');
    expect(fake.unexpected).toEqual([]);
    const first = fake.execs(m3).find((c) => START.test(c.command))!.command;
    expect(first).toMatch(/^systemctl stop etcd\.service && mv \/var\/lib\/etcd\/member \/var\/lib\/etcd\/member\.removed-\$\(date/);
  });

  it('replaces a member that started once and lost its data (a reset host): member remove, then add anew, never its old identity', async () => {
    const [m1, m2, m3] = MEMBERS as [string, string, string];
    let phase: 'listed' | 'removed' | 'added' = 'listed';
    const fake = fakeExecutor({
      exec: [
        ...factsRules({ [m1]: {}, [m2]: {}, [m3]: { units: { 'etcd.service': 'inactive' } } }),
        { command: DATA, host: m3, reply: { code: 1 } },
        { command: DATA, reply: {} },
        { command: /member remove 3abc/, reply: () => ((phase = 'removed'), {}) },
        { command: /member add/, reply: () => ((phase = 'added'), {}) },
        {
          command: LIST,
          reply: () => ({
            stdout: [
              listLine(m1, 0),
              listLine(m2, 1),
              ...(phase === 'listed' ? [listLine(m3, 2)] : phase === 'added' ? [listLine(m3, 3, { started: false, learner: true })] : []),
            ].join('\n'),
          }),
        },
        { command: /member promote 4abc/, reply: {} },
        { command: START, reply: {} },
        { command: HEALTH, reply: {} },
        { command: RESTORE, reply: {} },
      ],
    });
    const { ctx } = testContext(fake, { hosts: new Set(MEMBERS) });
    await runPhases([factsPhase, etcdPhase], ctx, 'lines');
    expect(fake.unexpected).toEqual([]);
    const changes = fake
      .execs(m3)
      .filter((c) => /member (remove|add|promote)/.test(c.command))
      .map((c) => /member (\w+)/.exec(c.command)![1]);
    expect(changes).toEqual(['remove', 'add', 'promote']);
    expect(fake.execs(m3).find((c) => /member remove/.test(c.command))!.command).toContain(`--endpoints=${client(m1)},${client(m2)} `);
  });

  it('refuses a member whose address changed: etcd lists its name with another peer URL', async () => {
    // The first rule that matches answers: this member list comes before the one of rules().
    const fake = fakeExecutor({ exec: [{ command: LIST, reply: { stdout: memberList.replace(peer('m3'), 'https://127.0.99.3:2380') } }, ...rules({}, {})] });
    const { ctx } = testContext(fake, { hosts: new Set(MEMBERS) });
    await expect(runPhases([factsPhase, etcdPhase], ctx, 'lines')).rejects.toThrow(
      /etcd lists m3 with peer URL https:\/\/127\.0\.99\.3:2380, the inventory gives/,
    );
  });
});

describe('how a member starts', () => {
  it.each([
    // listed, hasData, anyData, clusterAnswered
    [false, false, false, false, 'new'],
    [false, false, true, false, 'join'],
    [false, false, false, true, 'join'],
    [true, false, true, true, 'join'], // added by an interrupted run, never started
    [true, true, true, true, 'start'],
    [false, true, true, false, 'start'], // the cluster is down: start what holds data
    [false, true, true, true, 'rejoin'],
  ] as const)('listed %s, data %s, any data %s, cluster answered %s: %s', (listed, hasData, anyData, answered, kind) => {
    expect(startKind(listed, hasData, anyData, answered)).toBe(kind);
  });

  it('learners from etcd 3.4', () => {
    expect([etcdHasLearners('3.3.27'), etcdHasLearners('3.4.23'), etcdHasLearners('3.5.21'), etcdHasLearners('4.0.0')]).toEqual([false, true, true, true]);
  });
});
