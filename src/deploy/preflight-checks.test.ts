import { describe, expect, it } from 'vitest';
import type { ClusterModel, Host, Role } from '../inventory/model.js';
import type { HostPlan } from '../render/types.js';
import type { Facts } from './facts.js';
import { runPreflight, type PreflightInput } from './preflight-checks.js';

const host = (name: string, address: string, roles: Role[]): Host =>
  ({ name, address, internalAddress: address, roles, ssh: { user: 'root', sudo: false } }) as unknown as Host;

const inline = (path: string, text: string) => ({
  path, mode: 0o644, owner: 'root:root', size: text.length, sha256: 'x', restarts: [], content: { kind: 'inline' as const, data: Buffer.from(text) },
});

const plan = (h: Host): HostPlan => ({
  host: h,
  services: [],
  files: [
    inline('/etc/modules-load.d/kubernetes.conf', 'overlay\nbr_netfilter\n'),
    inline('/etc/sysctl.d/99-kubernetes.conf', 'net.ipv4.ip_forward = 1\n'),
    { path: '/usr/local/bin/etcd', mode: 0o755, owner: 'root:root', size: 1, sha256: 'aa', restarts: [], content: { kind: 'local', localPath: '/b/etcd' } },
  ],
});

const goodFacts = (over: Partial<Facts> = {}): Facts => ({
  os: 'Debian', arch: 'x86_64', systemd: true, hostname: 'h', machineId: 'm', swapDevices: 0, firewalldActive: false, ufwActive: false,
  selinux: 'absent', clockSkewSeconds: 0, listening: [], loadedModules: new Set(['overlay', 'br_netfilter']),
  sysctls: new Map([['net.ipv4.ip_forward', '1']]), procSysWritable: true, hasModprobe: true, unitStates: new Map(), pendingRestarts: [], ...over,
});

const input = (facts: Record<string, Facts>, hosts: Host[], over: Partial<PreflightInput> = {}): PreflightInput => ({
  model: { apiServerPort: 6443 } as ClusterModel,
  hostPlans: hosts.map(plan),
  facts: new Map(Object.entries(facts)),
  binaries: [{ name: 'etcd', sha256: 'aa', arch: 'x86_64' }],
  ...over,
});

describe('preflight checks', () => {
  const a = host('a', '127.0.2.1', ['etcd', 'node']);
  const b = host('b', '127.0.2.2', ['etcd']);

  it('passes healthy hosts', () => {
    expect(runPreflight(input({ a: goodFacts({ hostname: 'a', machineId: '1' }), b: goodFacts({ hostname: 'b', machineId: '2' }) }, [a, b]), new Set())).toEqual([]);
  });

  it('names every problem with its check and host', () => {
    const findings = runPreflight(
      input(
        {
          a: goodFacts({ arch: 'aarch64', swapDevices: 1, systemd: false, listening: [{ address: '0.0.0.0', port: 2380 }], clockSkewSeconds: 5, loadedModules: new Set(), hasModprobe: false }),
          b: goodFacts({ listening: [{ address: '127.0.2.1', port: 2379 }], sysctls: new Map(), procSysWritable: false }),
        },
        [a, b],
        { sha256sums: new Map([['etcd', 'bb']]) },
      ),
      new Set(),
    );
    const brief = findings.map((f) => `${f.severity} ${f.check} ${f.host ?? '*'}`);
    expect(brief).toEqual([
      'error systemd a',
      'error architecture a',
      'error sha256sums *',
      'warning swap a',
      'error ports a',
      'error clock-skew a',
      'error hostnames *',
      'error machine-ids *',
      'warning modules a',
      'warning sysctls b',
    ]);
    expect(findings.find((f) => f.check === 'ports')!.message).toContain('2380 (etcd peer)');
    expect(findings.find((f) => f.check === 'architecture')!.message).toBe('host is aarch64 but etcd is x86_64');
  });

  it('does not count a port held by our own running unit, nor a port on another address', () => {
    const facts = goodFacts({ listening: [{ address: '127.0.2.1', port: 2379 }, { address: '127.0.2.9', port: 2380 }], unitStates: new Map([['etcd.service', 'active']]) });
    expect(runPreflight(input({ a: facts }, [a]), new Set())).toEqual([]);
  });

  it('turns ignored errors into warnings, by name or all', () => {
    const skewed = input({ a: goodFacts({ clockSkewSeconds: -9 }) }, [a]);
    expect(runPreflight(skewed, new Set(['clock-skew']))[0]).toMatchObject({ severity: 'warning', message: expect.stringContaining('(ignored)') });
    expect(runPreflight(skewed, new Set(['all']))[0]!.severity).toBe('warning');
    expect(runPreflight(skewed, new Set(['ports']))[0]!.severity).toBe('error');
  });
});
