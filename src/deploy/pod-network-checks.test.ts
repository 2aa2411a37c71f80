import { describe, expect, it } from 'vitest';
import { buildClusterPlan } from '../render/plan.js';
import { ALL_BINARIES, binaryIndexFor, clusterFilesFor, modelFrom } from '../render/test-fixtures.js';
import type { Facts } from './facts.js';
import { onNetwork, POD_NETWORK_CHECKS } from './pod-network-checks.js';
import type { PreflightInput } from './preflight-checks.js';
import { podCidrPatch } from './pod-cidr.js';

const m = modelFrom(
  [
    '  - { name: m1, address: 10.0.0.1, roles: [etcd, master] }',
    '  - { name: n1, address: 10.0.0.2, roles: [node] }',
    '  - { name: n2, address: 10.0.1.3, roles: [node] }',
  ]
    .map((l) => `${l}\n`)
    .join(''),
);
const factsOf = (networks: string[], commands: string[] = []): Facts => ({ networks, commands: new Set(commands) }) as unknown as Facts;
const run = (facts: Record<string, Facts>, binaries = ALL_BINARIES): { check: string; host?: string; message: string }[] => {
  const input = {
    model: m,
    hostPlans: buildClusterPlan(m, clusterFilesFor(m), binaryIndexFor(binaries)).hosts,
    facts: new Map(Object.entries(facts)),
    binaries: [],
  } as PreflightInput;
  return POD_NETWORK_CHECKS.flatMap((c) => c.run(input));
};
const OS_PLUGINS = ['bridge', 'host-local', 'loopback'].map((p) => `/usr/lib/cni/${p}`);

describe('pod network preflight', () => {
  it('knows whether an address is on a network the host is on', () => {
    expect(onNetwork('10.0.0.1/24', '10.0.0.200')).toBe(true);
    expect(onNetwork('10.0.0.1/24', '10.0.1.3')).toBe(false);
    expect(onNetwork('fd00::1/64', '10.0.0.2')).toBe(false);
  });

  it('names each kubelet host the others cannot reach in one hop, and says what to do instead', () => {
    const findings = run({
      m1: factsOf(['127.0.0.1/8', '10.0.0.1/24'], OS_PLUGINS),
      n1: factsOf(['10.0.0.2/24'], OS_PLUGINS),
      n2: factsOf(['10.0.1.3/24', '10.0.0.9/16'], OS_PLUGINS),
    });
    expect(findings.map((f) => [f.check, f.host])).toEqual([
      ['pod-network', 'm1'],
      ['pod-network', 'n1'],
    ]);
    expect(findings[0]!.message).toMatch(
      /n2 \(10\.0\.1\.3\) is not on a network of m1 \(10\.0\.0\.1\/24\).*cluster\.network\.plugin manifest with an overlay network/,
    );
  });

  it('asks for the OS package only when the binaries folder has no CNI plugins', () => {
    const sameNet = (cmds: string[]) => ({ m1: factsOf(['10.0.0.1/16'], cmds), n1: factsOf(['10.0.0.2/16'], cmds), n2: factsOf(['10.0.1.3/16'], cmds) });
    const missing = run(sameNet(['/usr/lib/cni/bridge']));
    expect(missing.map((f) => f.host)).toEqual(['m1', 'n1', 'n2']);
    expect(missing[0]!.message).toMatch(/the CNI plugins host-local, loopback are not in \/usr\/lib\/cni and the binaries folder has no cni\/ to upload/);
    expect(run(sameNet(OS_PLUGINS))).toEqual([]);
    expect(run(sameNet([]), [...ALL_BINARIES, 'cni/bridge', 'cni/host-local', 'cni/loopback', 'cni/portmap'])).toEqual([]);
  });
});

describe("the Node's podCIDR", () => {
  it('is set once to the recorded subnet, and a different one is refused, never changed', () => {
    expect(podCidrPatch({ metadata: { resourceVersion: '7' } }, 'n1', '10.244.1.0/24')).toEqual({
      metadata: { resourceVersion: '7' },
      spec: { podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24'] },
    });
    expect(podCidrPatch({ metadata: {}, spec: { podCIDR: '10.244.1.0/24' } }, 'n1', '10.244.1.0/24')).toBeUndefined();
    expect(() => podCidrPatch({ metadata: {}, spec: { podCIDR: '10.244.9.0/24' } }, 'n1', '10.244.1.0/24')).toThrow(
      /Node n1 has podCIDR 10\.244\.9\.0\/24.*cannot change/,
    );
  });
});
