import { describe, expect, it } from 'vitest';
import { ConnectError } from '../../ssh/errors.js';
import { PhaseFailed, runPhases } from '../manager.js';
import { factsRules, plan, testContext } from '../testing/cluster.js';
import { fakeExecutor, type ExecCall, type Rule } from '../testing/fake-executor.js';
import { WHO_COMMAND } from './connect.js';
import { PHASES } from './index.js';

const HOSTS = plan.hosts.map((hp) => hp.host.name);
/** The connect step's one command, matched exactly. */
const CONNECT = new RegExp(`^${WHO_COMMAND.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
const connected: Rule = { command: CONNECT, reply: { stdout: 'root root\n' } };
const run = (script: Rule[]) => {
  const fake = fakeExecutor({ exec: script });
  const { ctx } = testContext(fake, { phases: new Set(['connect', 'facts', 'prepare']) });
  return { fake, done: runPhases(PHASES, ctx, 'lines') };
};
const stepOf = (c: ExecCall) => c.opts.step.split(' ')[0];

describe('the deploy phases under the manager', () => {
  it('run in order: every host finishes a phase before any host starts the next', async () => {
    // n1 lacks its kernel modules, so prepare has one command to run.
    const { fake, done } = run([
      connected,
      ...factsRules({ ...Object.fromEntries(HOSTS.map((h) => [h, {}])), n1: { loadedModules: [] } }),
      { host: 'n1', command: /^modprobe /, reply: {} },
    ]);
    await done;
    expect(fake.unexpected).toEqual([]);
    const calls = fake.execs();
    expect(calls.map(stepOf)).toEqual([...HOSTS.map(() => 'connect'), ...HOSTS.map(() => 'gather'), 'prepare']);
    for (const [before, after] of [
      ['connect', 'gather'],
      ['gather', 'prepare'],
    ] as const) {
      const lastAnswer = Math.max(...calls.filter((c) => stepOf(c) === before).map((c) => c.answered!));
      expect(Math.min(...calls.filter((c) => stepOf(c) === after).map((c) => c.seq))).toBeGreaterThan(lastAnswer);
    }
  });

  it('stop after the first failing phase, naming every host it failed on', async () => {
    const refused = (host: string): Rule => ({ host, command: CONNECT, reply: { error: new ConnectError(host, `connection to ${host} refused`, true) } });
    const { fake, done } = run([refused('m2'), refused('n2'), connected]);
    const err = await done.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PhaseFailed);
    expect((err as PhaseFailed).phase).toBe('connect');
    expect((err as PhaseFailed).failures.map((f) => f.host)).toEqual(['m2', 'n2']);
    expect((err as PhaseFailed).message).toMatch(/m2: connect over SSH: m2: connection to m2 refused[\s\S]*n2: connect over SSH: n2: connection to n2 refused/);
    // every host was tried, and nothing ran after the failed phase
    expect(fake.execs().map((c) => `${stepOf(c)} ${c.host}`)).toEqual(HOSTS.map((h) => `connect ${h}`));
  });
});
