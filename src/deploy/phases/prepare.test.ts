import { describe, expect, it } from 'vitest';
import { requiredModules } from '../host-settings.js';
import { runPhases } from '../manager.js';
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
