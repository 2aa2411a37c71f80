import { describe, expect, it } from 'vitest';
import type { ClusterModel, Host, Role } from '../inventory/model.js';
import type { HostPlan } from '../render/types.js';
import { inlineFile } from './testing/files.js';
import { parseFacts, type Facts } from './facts.js';
import { prepDecisions } from './host-prep.js';
import { containerdVerdict, DISK_SPACE_MARGIN, etcdVerdict, runPreflight, type PreflightInput } from './preflight-checks.js';

const host = (name: string, address: string, roles: Role[]): Host =>
  ({ name, address, internalAddress: address, roles, ssh: { user: 'root', sudo: false } }) as unknown as Host;

const plan = (h: Host): HostPlan => ({
  host: h,
  services: [],
  files: [
    inlineFile('/etc/modules-load.d/kubernetes.conf', 'overlay\nbr_netfilter\n'),
    inlineFile('/etc/sysctl.d/99-kubernetes.conf', 'net.ipv4.ip_forward = 1\n'),
    { path: '/usr/local/bin/etcd', mode: 0o755, owner: 'root:root', size: 1, sha256: 'aa', restarts: [], content: { kind: 'local', localPath: '/b/etcd' } },
  ],
});

const goodFacts = (over: Partial<Facts> = {}): Facts => ({
  os: 'Debian',
  arch: 'x86_64',
  systemd: true,
  hostname: 'h',
  machineId: 'm',
  swapDevices: 0,
  firewalldActive: false,
  ufwActive: false,
  systemdResolvedActive: false,
  selinux: 'absent',
  clockSkewSeconds: 0,
  listening: [],
  loadedModules: new Set(['overlay', 'br_netfilter']),
  sysctls: new Map([['net.ipv4.ip_forward', '1']]),
  procSysWritable: true,
  hasModprobe: true,
  unitStates: new Map(),
  pendingRestarts: [],
  pendingReloads: [],
  cgroupVersion: 2,
  commands: new Set(['iptables', 'python3', 'conntrack', 'socat']),
  hashRecord: [],
  interfaces: new Map(),
  neighbours: new Map(),
  diskSpace: new Map(['/etc/modules-load.d', '/etc/sysctl.d', '/usr/local/bin'].map((d) => [d, { mountPoint: '/', freeBytes: 10 * GiB }])),
  ...over,
});

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

const modelAt = (kubernetesVersion: string): ClusterModel =>
  ({ apiServerPort: 6443, kubernetesVersion, apiEndpoint: { kind: 'master' }, installPackages: false }) as ClusterModel;

const input = (facts: Record<string, Facts>, hosts: Host[], over: Partial<PreflightInput> = {}): PreflightInput => ({
  model: modelAt('1.34.2'),
  hostPlans: hosts.map(plan),
  facts: new Map(Object.entries(facts)),
  binaries: [{ name: 'etcd', sha256: 'aa', arch: 'x86_64', version: '3.6.5' }],
  ...over,
});

describe('preflight checks', () => {
  const a = host('a', '127.0.2.1', ['etcd', 'node']);
  const b = host('b', '127.0.2.2', ['etcd']);

  it('passes healthy hosts', () => {
    expect(
      runPreflight(input({ a: goodFacts({ hostname: 'a', machineId: '1' }), b: goodFacts({ hostname: 'b', machineId: '2' }) }, [a, b]), new Set()),
    ).toEqual([]);
  });

  it('refuses a host where an etcd restore is unfinished, naming its old data dir', () => {
    const findings = runPreflight(
      input({ a: goodFacts({ hostname: 'a', machineId: '1' }), b: goodFacts({ hostname: 'b', machineId: '2', etcdRestore: { aside: '/var/lib/etcd.x' } }) }, [
        a,
        b,
      ]),
      new Set(),
    );
    expect(findings).toEqual([{ check: 'etcd-restore', severity: 'error', host: 'b', message: expect.stringContaining('the old data dir: /var/lib/etcd.x') }]);
  });

  it('names every problem with its check and host', () => {
    const findings = runPreflight(
      input(
        {
          a: goodFacts({
            arch: 'aarch64',
            swapDevices: 1,
            systemd: false,
            listening: [{ address: '0.0.0.0', port: 2380 }],
            clockSkewSeconds: 5,
            loadedModules: new Set(),
            hasModprobe: false,
          }),
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
    const facts = goodFacts({
      listening: [
        { address: '127.0.2.1', port: 2379 },
        { address: '127.0.2.9', port: 2380 },
      ],
      unitStates: new Map([['etcd.service', 'active']]),
    });
    expect(runPreflight(input({ a: facts }, [a]), new Set())).toEqual([]);
  });

  it("knows kube-lb's port on a node-local node: taken on 127.0.0.1 by something else, or held by our own kube-lb", () => {
    const n = host('n', '127.0.2.6', ['node']);
    const nodeLocal = { model: { apiServerPort: 6443, kubernetesVersion: '1.34.2', apiEndpoint: { kind: 'node-local' } } as ClusterModel };
    const taken = goodFacts({ listening: [{ address: '127.0.0.1', port: 6443 }] });
    // Only the port check: the balancer's package is the packages check's (src/deploy/packages.test.ts).
    const ports = (facts: Facts) => runPreflight(input({ n: facts }, [n], nodeLocal), new Set()).filter((f) => f.check === 'ports');
    expect(ports(taken)).toMatchObject([{ check: 'ports', host: 'n', message: 'already in use on 127.0.0.1: 6443 (kube-lb (node-local API load balancer))' }]);
    expect(ports(goodFacts({ listening: taken.listening, unitStates: new Map([['kube-lb.service', 'active']]) }))).toEqual([]);
    // With a master endpoint the node runs no balancer, so the port is not ours to want.
    expect(runPreflight(input({ n: taken }, [n]), new Set())).toEqual([]);
  });

  it('sees a conflict on 127.0.0.1 for what binds there, and on any address for the API server (it binds them all)', () => {
    const m = host('m', '127.0.2.5', ['master']);
    const facts = goodFacts({
      listening: [
        { address: '127.0.0.1', port: 10257 },
        { address: '127.0.2.77', port: 6443 },
        { address: '127.0.2.5', port: 10259 },
      ],
    });
    expect(runPreflight(input({ m: facts }, [m]), new Set())).toMatchObject([
      { check: 'ports', host: 'm', message: 'already in use on 0.0.0.0: 6443 (kube-apiserver); already in use on 127.0.0.1: 10257 (kube-controller-manager)' },
    ]);
  });

  it('sees a conflict on an IPv6 host whose listener /proc/net/tcp6 reports, whatever run of zeros the inventory compressed', () => {
    const v6 = host('v6', 'fd00:0:0:1::1', ['etcd']);
    // fd00:0:0:1:0:0:0:1 listening on 2380 (0x094C), as /proc/net/tcp6 prints it: four little-endian words
    const tcp6 =
      'tcp=   0: 000000FD010000000000000001000000:094C 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     ' +
      '0        0 1 1 0000000000000000 100 0 0 10 0';
    const facts = parseFacts(tcp6, 0);
    expect(facts.listening).toEqual([{ address: 'fd00:0:0:1::1', port: 2380 }]);
    const findings = runPreflight(input({ v6: goodFacts({ listening: facts.listening }) }, [v6]), new Set());
    expect(findings).toMatchObject([{ check: 'ports', host: 'v6', message: 'already in use on fd00:0:0:1::1: 2380 (etcd peer)' }]);
    // the same address written out in full in the inventory is the same host address
    const spelled = host('v6', 'fd00:0:0:1:0:0:0:1', ['etcd']);
    expect(runPreflight(input({ v6: goodFacts({ listening: facts.listening }) }, [spelled]), new Set()).map((f) => f.check)).toEqual(['ports']);
  });

  it("warns of what prepare will change, in prepare's own words, and of what the host does not let it change", () => {
    const f = goodFacts({
      swapDevices: 1,
      selinux: 'enforcing',
      loadedModules: new Set(['overlay']),
      hasModprobe: false,
      sysctls: new Map([['net.ipv4.ip_forward', '0']]),
    });
    const warnings = runPreflight(input({ a: f }, [a]), new Set()).map((x) => [x.check, x.message]);
    const decisions = prepDecisions(f, plan(a));
    expect(warnings).toEqual([
      ['swap', '1 swap device(s) on; prepare turns swap off'],
      ['selinux', 'SELinux is enforcing; prepare sets it permissive'],
      ['modules', `not loaded: br_netfilter; ${decisions.find((d) => d.item === 'modules')!.blocked}`],
      ['sysctls', 'not set: net.ipv4.ip_forward=1 (is 0); prepare sets them'],
    ]);
    expect(decisions.map((d) => d.item).sort()).toEqual(warnings.map(([check]) => check).sort());
  });

  it('turns ignored errors into warnings, by name or all', () => {
    const skewed = input({ a: goodFacts({ clockSkewSeconds: -9 }) }, [a]);
    expect(runPreflight(skewed, new Set(['clock-skew']))[0]).toMatchObject({ severity: 'warning', message: expect.stringContaining('(ignored)') });
    expect(runPreflight(skewed, new Set(['all']))[0]!.severity).toBe('warning');
    expect(runPreflight(skewed, new Set(['ports']))[0]!.severity).toBe('error');
  });

  describe('disk-space', () => {
    const big = (h: Host, size: number): HostPlan => {
      const p = plan(h);
      return { ...p, files: p.files.map((f) => (f.path === '/usr/local/bin/etcd' ? { ...f, size } : f)) };
    };
    const small = (free: number) =>
      new Map([
        ['/usr/local/bin', { mountPoint: '/usr/local/bin', freeBytes: free }],
        ['/etc/modules-load.d', { mountPoint: '/', freeBytes: 10 * GiB }],
        ['/etc/sysctl.d', { mountPoint: '/', freeBytes: 10 * GiB }],
      ]);
    const needed = Math.ceil(100 * MiB * (1 + DISK_SPACE_MARGIN.share)) + DISK_SPACE_MARGIN.bytes;

    it('names the host, the mount point, what is needed and what is free when a first upload does not fit', () => {
      const findings = runPreflight(input({ a: goodFacts({ diskSpace: small(needed - 1) }) }, [a], { hostPlans: [big(a, 100 * MiB)] }), new Set());
      expect(findings).toEqual([
        {
          check: 'disk-space',
          severity: 'error',
          host: 'a',
          message: `/usr/local/bin (for /usr/local/bin): needs 174.0 MiB (100.0 MiB to upload + margin), ${((needed - 1) / MiB).toFixed(1)} MiB free`,
        },
      ]);
      expect(runPreflight(input({ a: goodFacts({ diskSpace: small(needed) }) }, [a], { hostPlans: [big(a, 100 * MiB)] }), new Set())).toEqual([]);
    });

    it('counts only the files whose hash the host record does not hold', () => {
      const record = [`${'aa'.padEnd(64, '0')} 1 2 /usr/local/bin/etcd`];
      const p = big(a, 100 * MiB);
      const withSha = { ...p, files: p.files.map((f) => (f.path === '/usr/local/bin/etcd' ? { ...f, sha256: 'aa'.padEnd(64, '0') } : f)) };
      expect(runPreflight(input({ a: goodFacts({ diskSpace: small(MiB), hashRecord: record }) }, [a], { hostPlans: [withSha] }), new Set())).toEqual([]);
    });

    it("adds a sudo user's home staging to the file system that holds it", () => {
      const sudo = { ...host('a', '127.0.2.1', ['etcd']), ssh: { user: 'u', sudo: true } } as unknown as Host;
      const shared = new Map(
        ['/usr/local/bin', '/etc/modules-load.d', '/etc/sysctl.d', '/home/u'].map((d) => [d, { mountPoint: '/', freeBytes: needed + 10 * MiB }]),
      );
      const findings = runPreflight(
        input({ a: goodFacts({ diskSpace: shared, stagingHome: '/home/u' }) }, [sudo], { hostPlans: [big(sudo, 100 * MiB)] }),
        new Set(),
      );
      expect(findings.map((f) => f.message)).toEqual([
        expect.stringMatching(/^\/ \(for \/etc\/modules-load.d, \/etc\/sysctl.d, \/usr\/local\/bin, \/home\/u\): needs 284\.0 MiB \(200\.0 MiB to upload/),
      ]);
    });
  });

  it('cgroups: v1 on a node is a warning before Kubernetes 1.35 and an error from it; etcd-only hosts are not asked', () => {
    const v1 = { a: goodFacts({ hostname: 'a', machineId: '1', cgroupVersion: 1 }), b: goodFacts({ hostname: 'b', machineId: '2', cgroupVersion: 1 }) };
    const at = (version: string) => runPreflight(input(v1, [a, b], { model: modelAt(version) }), new Set());
    expect(at('1.34.2').map((f) => `${f.severity} ${f.check} ${f.host}`)).toEqual(['warning cgroups a']);
    expect(at('1.35.0')).toEqual([
      { check: 'cgroups', severity: 'error', host: 'a', message: expect.stringContaining('the kubelet of Kubernetes 1.35 refuses to start') },
    ]);
  });

  it('node-commands: no iptables or python3 is an error, no socat a warning, on nodes only', () => {
    const facts = {
      a: goodFacts({ hostname: 'a', machineId: '1', commands: new Set(['conntrack']) }),
      b: goodFacts({ hostname: 'b', machineId: '2', commands: new Set() }),
    };
    expect(runPreflight(input(facts, [a, b]), new Set())).toEqual([
      {
        check: 'node-commands',
        severity: 'error',
        host: 'a',
        message:
          "not on the PATH: iptables (for kube-proxy (iptables mode)), python3 (for deploy's health probes on the host); " +
          'cluster.installPackages is false: install iptables, python3 on the host',
      },
      {
        check: 'node-commands',
        severity: 'warning',
        host: 'a',
        message: 'not on the PATH: socat (for kubectl port-forward); cluster.installPackages is false: install socat on the host',
      },
    ]);
  });

  it("containerd-version follows containerd's support table per Kubernetes minor", () => {
    expect(containerdVerdict('1.6.20', '1.32')).toEqual({
      severity: 'error',
      message: 'containerd 1.6.20 is not supported with Kubernetes 1.32; containerd supports it with 2.1.0+, 2.0.1+, 1.7.24+, 1.6.36+',
    });
    expect(containerdVerdict('1.6.36', '1.32')).toBeUndefined();
    expect(containerdVerdict('2.0.1', '1.32')).toBeUndefined();
    expect(containerdVerdict('1.6.39', '1.35')).toMatchObject({ severity: 'error' }); // 1.6 is not listed for 1.35
    expect(containerdVerdict('1.7.27', '1.35')).toMatchObject({ severity: 'error' });
    expect(containerdVerdict('1.7.28', '1.35')).toBeUndefined();
    expect(containerdVerdict('2.1.4', '1.35')).toMatchObject({ severity: 'error' });
    expect(containerdVerdict('2.10.0', '1.35')).toMatchObject({ severity: 'error' }); // numeric, not text, comparison of minors
  });

  it("etcd-version: below kubeadm's minimum is an error, another minor than kubeadm's a warning", () => {
    expect(etcdVerdict('3.4.23', '1.34')).toEqual({
      severity: 'error',
      message: 'etcd 3.4.23 is older than 3.5.24, the oldest etcd kubeadm accepts; Kubernetes 1.34 runs with etcd 3.6',
    });
    expect(etcdVerdict('3.5.23', '1.32')).toMatchObject({ severity: 'error' });
    expect(etcdVerdict('3.5.24', '1.32')).toBeUndefined();
    expect(etcdVerdict('3.5.24', '1.34')).toEqual({ severity: 'warning', message: 'etcd 3.5.24: Kubernetes 1.34 is released with etcd 3.6' });
    expect(etcdVerdict('3.6.5', '1.35')).toBeUndefined();
    expect(etcdVerdict('3.6.5', '1.32')).toMatchObject({ severity: 'warning' });
  });

  it('reports a version on every host that gets the binary, and says when it could not be read', () => {
    const old = input({ a: goodFacts({ hostname: 'a', machineId: '1' }), b: goodFacts({ hostname: 'b', machineId: '2' }) }, [a, b], {
      binaries: [{ name: 'etcd', sha256: 'aa', arch: 'x86_64', version: '3.4.23' }],
    });
    expect(runPreflight(old, new Set()).map((f) => `${f.severity} ${f.check} ${f.host}: ${f.message}`)).toEqual([
      'error etcd-version a: etcd 3.4.23 is older than 3.5.24, the oldest etcd kubeadm accepts; Kubernetes 1.34 runs with etcd 3.6',
      'error etcd-version b: etcd 3.4.23 is older than 3.5.24, the oldest etcd kubeadm accepts; Kubernetes 1.34 runs with etcd 3.6',
    ]);
    expect(runPreflight(old, new Set(['etcd-version'])).every((f) => f.severity === 'warning')).toBe(true);
    const unknown = {
      ...old,
      binaries: [{ name: 'etcd', sha256: 'aa', arch: 'aarch64', versionUnknown: 'it is built for aarch64 and this machine is x86_64' }],
    };
    expect(runPreflight(unknown, new Set()).filter((f) => f.check === 'etcd-version')).toEqual(
      ['a', 'b'].map((h) => ({
        check: 'etcd-version',
        severity: 'warning',
        host: h,
        message: 'cannot read the version of etcd, so it is not checked: it is built for aarch64 and this machine is x86_64',
      })),
    );
  });
});
