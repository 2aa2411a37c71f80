import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { HOST_PATHS, RESOLV_CONF } from '../../render/paths.js';
import { runPhases } from '../manager.js';
import { factsRules, hostPlan, testContext } from '../testing/cluster.js';
import { fakeExecutor } from '../testing/fake-executor.js';
import type { DeployContext } from '../types.js';
import { factsPhase } from './facts.js';

const resolvConf = (ctx: DeployContext, host: string): string => {
  const file = ctx.plan.hosts.find((h) => h.host.name === host)!.files.find((f) => f.path === HOST_PATHS.kubeletConfig)!;
  if (file.content.kind !== 'inline') throw new Error('kubelet config not inline');
  return (yaml.load(file.content.data.toString()) as { resolvConf: string }).resolvConf;
};

describe('facts phase: the kubelet resolvConf', () => {
  it("names systemd-resolved's own resolv.conf where resolved is active, /etc/resolv.conf elsewhere (its stub would loop CoreDNS)", async () => {
    const active = Object.fromEntries([...hostPlan('n1').services.map((s) => [s.unit, 'active']), ['systemd-resolved.service', 'active']]);
    const fake = fakeExecutor({ exec: factsRules({ n1: { units: active }, n2: {} }) });
    const { ctx } = testContext(fake, { hosts: new Set(['n1', 'n2']) });
    expect(resolvConf(ctx, 'n1')).toBe(RESOLV_CONF.plain);
    await runPhases([factsPhase], ctx, 'lines');
    expect(fake.unexpected).toEqual([]);
    expect(ctx.facts.get('n1')?.systemdResolvedActive).toBe(true);
    expect(ctx.facts.get('n1')?.unitStates.has('systemd-resolved.service')).toBe(false);
    expect([resolvConf(ctx, 'n1'), resolvConf(ctx, 'n2')]).toEqual([RESOLV_CONF.systemdResolved, RESOLV_CONF.plain]);
    const n1 = ctx.plan.hosts.find((h) => h.host.name === 'n1')!;
    // only the kubelet config changed, and it restarts the kubelet
    expect(n1.files.filter((f) => !hostPlan('n1').files.includes(f)).map((f) => [f.path, f.restarts])).toEqual([
      [HOST_PATHS.kubeletConfig, ['kubelet.service']],
    ]);
  });
});
