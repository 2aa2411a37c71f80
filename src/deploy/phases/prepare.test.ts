import { describe, expect, it } from 'vitest';
import { requiredModules } from '../host-settings.js';
import { PhaseFailed, runPhases } from '../manager.js';
import { factsRules, hostPlan, testContext } from '../testing/cluster.js';
import { fakeExecutor } from '../testing/fake-executor.js';
import { factsPhase } from './facts.js';
import { preparePhase } from './prepare.js';

const unprepared = { loadedModules: [], sysctls: { 'net.ipv4.ip_forward': '0' } };
const MODPROBE_FAILS = 'modprobe: FATAL: Module overlay not found in directory /lib/modules/6.8.0-45-generic';

describe('prepare phase', () => {
  it('reports per host what it could not change and why, and lets the deploy go on', async () => {
    // n1 is a container: /proc/sys is read-only and its kernel has no modules to load. n2 is a VM
    // that allows both. Neither has the modules loaded nor the sysctls set.
    const fake = fakeExecutor({
      exec: [
        ...factsRules({ n1: { ...unprepared, procSysWritable: false }, n2: unprepared }),
        { host: 'n1', command: /^modprobe /, reply: { code: 1, stderr: MODPROBE_FAILS } },
        { host: 'n2', command: /^modprobe /, reply: {} },
        { host: 'n2', command: /^sysctl -q -w /, reply: {} },
      ],
    });
    const { ctx } = testContext(fake, { hosts: new Set(['n1', 'n2']) });
    const timings = await runPhases([factsPhase, preparePhase], ctx, 'lines');

    expect(timings.has('prepare')).toBe(true);
    expect(fake.unexpected).toEqual([]);
    const modprobe = requiredModules(hostPlan('n1'))
      .map((m) => `modprobe ${m}`)
      .join(' && ');
    const [sysctls, modules, ...more] = ctx.outcomes.get('n1')?.notes ?? [];
    expect(sysctls).toMatch(/^could not change sysctls: not set: net\.\S+=1.*; \/proc\/sys is read-only/);
    expect(modules).toMatch(/^could not change modules: not loaded: /);
    expect(modules).toContain(`\`${modprobe}\` failed: ${MODPROBE_FAILS}`);
    expect(more).toEqual([]);
    expect(ctx.outcomes.get('n2')?.notes ?? []).toEqual([]);
    // Where /proc/sys is read-only prepare does not even try; where it is writable it sets them.
    expect(fake.execs('n1').map((c) => c.opts.step)).toEqual(['gather facts', 'prepare modules']);
    expect(fake.execs('n2').map((c) => c.opts.step)).toEqual(['gather facts', 'prepare modules', 'prepare sysctls']);
  });
});

describe('prepare phase: OS packages', () => {
  const HAPROXY = '/usr/sbin/haproxy';
  const APT_FAILS = ['Reading package lists...', 'Building dependency tree...', 'E: Unable to locate package socat'].join('\n');

  it('installs what a host lacks with its package manager, and names host, packages and the last lines when that fails', async () => {
    const fake = fakeExecutor({
      exec: [
        // The test cluster is node-local (3 masters): its nodes' HAProxy is there, so only the node commands are missing.
        ...factsRules({ n1: { commands: ['apt-get', 'python3', 'iptables', HAPROXY] }, n2: { commands: ['apt-get', 'python3', HAPROXY] }, m1: {} }),
        { host: 'n1', command: /apt-get .* install --no-install-recommends conntrack socat; \} 2>&1$/, reply: { code: 100, stdout: APT_FAILS } },
        { host: 'n2', command: /apt-get .* install --no-install-recommends iptables conntrack socat; \} 2>&1$/, reply: {} },
      ],
    });
    const { ctx } = testContext(fake, { hosts: new Set(['n1', 'n2', 'm1']) });
    const err = await runPhases([factsPhase, preparePhase], ctx, 'lines').catch((e: unknown) => e);
    expect(fake.unexpected).toEqual([]);
    expect(err).toBeInstanceOf(PhaseFailed);
    expect((err as PhaseFailed).failures.map((f) => [f.host, f.step, f.message])).toEqual([
      [
        'n1',
        'install packages',
        `n1: installing conntrack, socat with apt-get failed (exit code 100); apt-get's last lines:\n    ${APT_FAILS.replace(/\n/g, '\n    ')}`,
      ],
    ]);
    expect(ctx.outcomes.get('n2')?.notes).toEqual(['installed iptables, conntrack, socat with apt-get']);
    // m1 has every package: nothing is run there
    expect(fake.execs('m1').map((c) => c.opts.step)).toEqual(['gather facts']);
    expect(fake.execs('n2').find((c) => c.opts.step === 'install packages')?.opts).toMatchObject({ sudo: true });
  });

  it('a dry run says what it would install and runs nothing', async () => {
    const fake = fakeExecutor({ exec: factsRules({ n1: { commands: ['apt-get', 'python3', 'iptables', 'conntrack', HAPROXY] } }) });
    const { ctx, dryRunLines } = testContext(fake, { hosts: new Set(['n1']), dryRun: true });
    await runPhases([factsPhase, preparePhase], ctx, 'lines');
    expect(fake.unexpected).toEqual([]);
    expect(dryRunLines).toEqual(['n1: would install socat with apt-get']);
  });
});
