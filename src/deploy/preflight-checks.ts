// Named preflight checks as a table of pure functions over the gathered facts and the plan.
// Problems that `prepare` fixes are warnings; the rest are errors unless ignored by name.
import { hasRole, type ClusterModel } from '../inventory/model.js';
import type { HostPlan } from '../render/types.js';
import type { Facts } from './facts.js';
import { requiredModules, requiredSysctls } from './host-settings.js';
import { ROLE_PORTS } from './ports.js';

export interface LocalBinaryCheck {
  readonly name: string;
  readonly sha256: string;
  /** From the ELF header; undefined for scripts, which run anywhere. */
  readonly arch?: string;
}

export interface PreflightInput {
  readonly model: ClusterModel;
  readonly hostPlans: readonly HostPlan[];
  readonly facts: ReadonlyMap<string, Facts>;
  readonly binaries: readonly LocalBinaryCheck[];
  /** From the binaries folder's SHA256SUMS, when it has one. */
  readonly sha256sums?: ReadonlyMap<string, string>;
}

export interface Finding {
  readonly check: string;
  readonly severity: 'error' | 'warning';
  /** Host name, or undefined for a cluster-wide finding. */
  readonly host?: string;
  readonly message: string;
}

export interface PreflightCheck {
  readonly name: string;
  readonly description: string;
  run(input: PreflightInput): Finding[];
}

export const MAX_CLOCK_SKEW_SECONDS = 2;

/** Every host of the run with its facts; hosts without facts never reach preflight. */
const withFacts = (input: PreflightInput): { hp: HostPlan; facts: Facts }[] =>
  input.hostPlans.flatMap((hp) => {
    const facts = input.facts.get(hp.host.name);
    return facts ? [{ hp, facts }] : [];
  });

const perHost =
  (check: string, severity: Finding['severity'], problem: (hp: HostPlan, facts: Facts, input: PreflightInput) => string | undefined) =>
  (input: PreflightInput): Finding[] =>
    withFacts(input).flatMap(({ hp, facts }) => {
      const message = problem(hp, facts, input);
      return message ? [{ check, severity, host: hp.host.name, message }] : [];
    });

const duplicates =
  (check: string, what: string, valueOf: (f: Facts) => string) =>
  (input: PreflightInput): Finding[] => {
    const byValue = new Map<string, string[]>();
    for (const [host, facts] of input.facts) byValue.set(valueOf(facts), [...(byValue.get(valueOf(facts)) ?? []), host]);
    return [...byValue]
      .filter(([, hosts]) => hosts.length > 1)
      .map(([value, hosts]) => ({ check, severity: 'error' as const, message: `hosts ${hosts.join(', ')} share the ${what} "${value}"` }));
  };

const isWildcard = (address: string): boolean => address === '0.0.0.0' || address === '::';

const binaryNameOf = (path: string): string => path.slice(path.lastIndexOf('/') + 1);

export const PREFLIGHT_CHECKS: readonly PreflightCheck[] = [
  {
    name: 'systemd',
    description: 'the host runs systemd as its init system',
    run: perHost('systemd', 'error', (_hp, f) => (f.systemd ? undefined : 'systemd is not running as init (/run/systemd/system is missing)')),
  },
  {
    name: 'architecture',
    description: 'the binaries are built for the host architecture',
    run: perHost('architecture', 'error', (hp, f, input) => {
      const names = new Set(hp.files.filter((file) => file.content.kind === 'local').map((file) => binaryNameOf(file.path)));
      const wrong = input.binaries.filter((b) => names.has(b.name) && b.arch !== undefined && b.arch !== f.arch);
      return wrong.length ? `host is ${f.arch} but ${wrong.map((b) => `${b.name} is ${b.arch}`).join(', ')}` : undefined;
    }),
  },
  {
    name: 'sha256sums',
    description: "the binaries match the binaries folder's SHA256SUMS",
    run: (input) =>
      input.sha256sums
        ? input.binaries
            .filter((b) => input.sha256sums!.has(b.name) && input.sha256sums!.get(b.name) !== b.sha256)
            .map((b) => ({ check: 'sha256sums', severity: 'error' as const, message: `${b.name} does not match SHA256SUMS (corrupt or wrong download)` }))
        : [],
  },
  {
    name: 'swap',
    description: 'swap is off on nodes (the kubelet refuses to start otherwise)',
    run: perHost('swap', 'warning', (hp, f) => (hasRole(hp.host, 'node') && f.swapDevices > 0 ? `${f.swapDevices} swap device(s) active; prepare turns swap off` : undefined)),
  },
  {
    name: 'firewall',
    description: 'firewalld and ufw are not running',
    run: perHost('firewall', 'warning', (_hp, f) =>
      f.firewalldActive || f.ufwActive ? `${f.firewalldActive ? 'firewalld' : 'ufw'} is active; prepare stops and disables it` : undefined,
    ),
  },
  {
    name: 'selinux',
    description: 'SELinux is not enforcing',
    run: perHost('selinux', 'warning', (_hp, f) => (f.selinux === 'enforcing' ? 'SELinux is enforcing; prepare sets it permissive' : undefined)),
  },
  {
    name: 'ports',
    description: "the components' ports are free on the host address",
    run: perHost('ports', 'error', (hp, f, input) => {
      const taken = ROLE_PORTS.filter((p) => hasRole(hp.host, p.role) && f.unitStates.get(p.unit) !== 'active')
        .map((p) => ({ ...p, number: p.port === 'apiServerPort' ? input.model.apiServerPort : p.port }))
        .filter((p) => f.listening.some((s) => s.port === p.number && (isWildcard(s.address) || s.address === hp.host.internalAddress)));
      return taken.length
        ? `already in use on ${hp.host.internalAddress}: ${taken.map((p) => `${p.number} (${p.what})`).join(', ')}`
        : undefined;
    }),
  },
  {
    name: 'clock-skew',
    description: `host clocks are within ${MAX_CLOCK_SKEW_SECONDS} s of this machine`,
    run: perHost('clock-skew', 'error', (_hp, f) =>
      Math.abs(f.clockSkewSeconds) > MAX_CLOCK_SKEW_SECONDS
        ? `clock is ${f.clockSkewSeconds.toFixed(1)} s off this machine's (TLS and etcd need synchronised clocks: enable NTP)`
        : undefined,
    ),
  },
  { name: 'hostnames', description: 'host names are unique', run: duplicates('hostnames', 'host name', (f) => f.hostname) },
  { name: 'machine-ids', description: 'machine ids are unique (cloned images share them)', run: duplicates('machine-ids', 'machine id', (f) => f.machineId) },
  {
    name: 'modules',
    description: 'the kernel modules the plan needs are loaded or loadable',
    run: perHost('modules', 'warning', (hp, f) => {
      const missing = requiredModules(hp).filter((m) => !f.loadedModules.has(m));
      if (!missing.length) return undefined;
      return f.hasModprobe ? `not loaded yet: ${missing.join(', ')}; prepare loads them` : `not loaded and no modprobe on the host: ${missing.join(', ')}`;
    }),
  },
  {
    name: 'sysctls',
    description: 'the sysctls the plan needs are set or settable',
    run: perHost('sysctls', 'warning', (hp, f) => {
      const wrong = requiredSysctls(hp).filter((s) => f.sysctls.get(s.key) !== s.value);
      if (!wrong.length) return undefined;
      const list = wrong.map((s) => `${s.key}=${f.sysctls.get(s.key) ?? 'absent'} (wants ${s.value})`).join(', ');
      return f.procSysWritable ? `${list}; prepare sets them` : `${list}; /proc/sys is read-only here, so the drop-ins only apply where the kernel allows`;
    }),
  },
];

export const PREFLIGHT_CHECK_NAMES = PREFLIGHT_CHECKS.map((c) => c.name);

/** Errors of ignored checks are kept, as warnings, so the output still says what was ignored. */
export const applyIgnores = (findings: readonly Finding[], ignored: ReadonlySet<string>): Finding[] =>
  findings.map((f) => (f.severity === 'error' && (ignored.has('all') || ignored.has(f.check)) ? { ...f, severity: 'warning', message: `${f.message} (ignored)` } : f));

export const runPreflight = (input: PreflightInput, ignored: ReadonlySet<string>): Finding[] =>
  applyIgnores(PREFLIGHT_CHECKS.flatMap((c) => c.run(input)), ignored);
