import { describe, expect, it } from 'vitest';
import { runPhases } from '../manager.js';
import { runPreflight } from '../preflight-checks.js';
import { startUnits } from '../services.js';
import { factsRules, hostPlan, testCluster, testContext, type HostState } from '../testing/cluster.js';
import { fakeExecutor } from '../testing/fake-executor.js';
import type { DeployContext } from '../types.js';
import { factsPhase } from './facts.js';

// The VIP check decides from what the facts phase gathers on each master: the interfaces holding the
// master's internal address and the VIP, and who answered ARP for the VIP when no master holds it.
const VIP = '198.18.43.100';
const vip = testCluster(`  apiEndpoint: ${VIP}:6443\n  apiEndpointKind: vip\n`);
const MASTERS = { m1: '127.0.12.1', m2: '127.0.12.2', m3: '127.0.12.3' } as const;
const FOREIGN = `${VIP} dev eth0 lladdr 02:00:00:00:00:99 REACHABLE`;

/** Each master holds its own internal address on eth0; `over` adds per-host state. */
const masters = (over: Partial<Record<keyof typeof MASTERS, HostState>> = {}): Record<string, HostState> =>
  Object.fromEntries(
    Object.entries(MASTERS).map(([name, address]) => [
      name,
      { ...over[name as keyof typeof MASTERS], interfaces: { [address]: 'eth0', ...over[name as keyof typeof MASTERS]?.interfaces } },
    ]),
  );

const vipFindings = async (states: Record<string, HostState>) => {
  const fake = fakeExecutor({ exec: factsRules(states, vip) });
  const { ctx } = testContext(fake, { hosts: new Set(Object.keys(states)) }, vip);
  await runPhases([factsPhase], ctx, 'lines');
  expect(fake.unexpected).toEqual([]);
  return {
    fake,
    ctx,
    findings: runPreflight({ model: ctx.model, hostPlans: hostPlans(ctx), facts: ctx.facts, binaries: [] }, new Set()).filter((f) => f.check === 'vip'),
  };
};
const hostPlans = (ctx: DeployContext) => ctx.plan.hosts.filter((hp) => ctx.facts.has(hp.host.name));

describe('preflight: the VIP', () => {
  it('asks each master, and only masters, about its internal address and the VIP', async () => {
    const { fake } = await vipFindings({ ...masters(), n1: {} });
    for (const [name, address] of Object.entries(MASTERS)) {
      const [facts] = fake.execs(name);
      expect(facts?.command).toContain(`ip -o addr show to ${address} |`);
      expect(facts?.command).toContain(`ip -o addr show to ${VIP} |`);
    }
    expect(fake.execs('n1')[0]?.command).not.toContain('ip -o addr show to');
    expect(hostPlan('m1', vip).services.map((s) => s.unit)).toContain('keepalived.service');
  });

  it('passes when no machine answers for the VIP (a first deploy)', async () => {
    expect((await vipFindings(masters())).findings).toEqual([]);
  });

  it('passes when one of our masters holds it (a re-run), though the others see its MAC', async () => {
    const held = `${VIP} dev eth0 lladdr 02:00:00:00:00:02 REACHABLE`;
    const { findings } = await vipFindings(
      masters({ m1: { neighbours: { [VIP]: held } }, m2: { interfaces: { [VIP]: 'eth0' } }, m3: { neighbours: { [VIP]: held } } }),
    );
    expect(findings).toEqual([]);
  });

  it('fails, naming the address and the MAC, when another machine answers for it', async () => {
    const { findings } = await vipFindings(masters({ m1: { neighbours: { [VIP]: FOREIGN } }, m3: { neighbours: { [VIP]: FOREIGN } } }));
    expect(findings).toEqual([
      {
        check: 'vip',
        severity: 'error',
        message:
          `the VIP ${VIP} (cluster.apiEndpoint) is already held by a machine that is not one of this cluster's masters ` +
          '(02:00:00:00:00:99, seen from m1, m3): free it or choose another address',
      },
    ]);
  });

  it('does not count a neighbour entry that no machine answered', async () => {
    const { findings } = await vipFindings(
      masters({ m1: { neighbours: { [VIP]: `${VIP} dev eth0 FAILED` } }, m2: { neighbours: { [VIP]: `${VIP} dev eth0 INCOMPLETE` } } }),
    );
    expect(findings).toEqual([]);
  });

  it('fails a master whose internal address is on none of its interfaces', async () => {
    const states = masters();
    states.m2 = {};
    const { findings } = await vipFindings(states);
    expect(findings).toEqual([
      {
        check: 'vip',
        severity: 'error',
        host: 'm2',
        message: `internal address 127.0.12.2 is on no interface of this host: keepalived could not hold the VIP ${VIP} here`,
      },
    ]);
  });
});

describe('keepalived on a re-run', () => {
  it('applies a changed configuration with a reload, which keeps the VIP where it is, and restarts the others', async () => {
    const fake = fakeExecutor({
      exec: [
        ...factsRules({ m1: { ...masters().m1, pendingRestarts: ['kube-scheduler.service'], pendingReloads: ['keepalived.service'] } }, vip),
        { host: 'm1', command: /^systemctl daemon-reload/, reply: {} },
        { host: 'm1', command: /^systemctl reload /, reply: {} },
      ],
    });
    const { ctx } = testContext(fake, { hosts: new Set(['m1']) }, vip);
    await runPhases([factsPhase], ctx, 'lines');
    const result = await startUnits(ctx, hostPlan('m1', vip), ['kube-scheduler.service', 'keepalived.service']);
    expect(result).toBe('restarted kube-scheduler.service, reloaded keepalived.service');
    const [start, reload] = fake
      .execs('m1')
      .slice(-2)
      .map((c) => c.command);
    expect(start).toContain(' && systemctl restart --no-block kube-scheduler.service && ');
    expect(start).not.toContain('keepalived');
    expect(reload).toMatch(/^systemctl reload keepalived\.service && rm -f /);
  });
});
