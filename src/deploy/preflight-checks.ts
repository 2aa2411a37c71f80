// Named preflight checks as a table of pure functions over the gathered facts and the plan.
// Problems that `prepare` fixes are warnings; the rest are errors unless ignored by name.
import { posix } from 'node:path';
import { normalizeImageName, registryOf } from '../images/archive.js';
import { IMAGES_SUBDIR } from '../images/load.js';
import { holdsVip, runsKubelet, runsRole, type ClusterModel } from '../inventory/model.js';
import { clusterImages } from '../render/images.js';
import type { HostPlan, PlannedFile } from '../render/types.js';
import { rolePorts } from '../render/ports.js';
import { sameIp } from '../util/ip.js';
import { stagingFor } from '../ssh/upload-plan.js';
import {
  CGROUP_V1_SEVERITY,
  compareVersions,
  CONTAINERD_FOR_KUBERNETES,
  ETCD_FOR_KUBERNETES,
  MIN_ETCD_VERSION,
  minorOf,
  type KubernetesMinor,
} from '../versions.js';
import { listsImage } from './ctr.js';
import type { Facts } from './facts.js';
import { parseHashRecord } from './file-diff.js';
import { prepDecision, PREP_ITEMS } from './host-prep.js';
import { versionFindings } from './installed-versions.js';
import { packageFindings, type PackageNeed } from './packages.js';
import { POD_NETWORK_CHECKS } from './pod-network-checks.js';

export interface LocalBinaryCheck {
  readonly name: string;
  readonly sha256: string;
  /** From the ELF header; undefined for scripts, which run anywhere. */
  readonly arch?: string;
  /** `<binary> --version`, for the VERSIONED_BINARIES; else why it could not be read. */
  readonly version?: string;
  readonly versionUnknown?: string;
}

/** The binaries whose version a check compares with the Kubernetes minor. */
export const VERSIONED_BINARIES: readonly string[] = ['etcd', 'containerd'];

export interface PreflightInput {
  readonly model: ClusterModel;
  readonly hostPlans: readonly HostPlan[];
  readonly facts: ReadonlyMap<string, Facts>;
  readonly binaries: readonly LocalBinaryCheck[];
  /** From the binaries folder's SHA256SUMS, when it has one. */
  readonly sha256sums?: ReadonlyMap<string, string>;
  /** `kubeinstall upgrade`: a version change allowed (one minor up at most), not refused. */
  readonly upgrade?: boolean;
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

/** Free space a file system must have beyond the bytes uploaded to it: a share for what else writes
 * there meanwhile (logs, etcd) plus a floor for small file systems. */
export const DISK_SPACE_MARGIN = { share: 0.1, bytes: 64 * 1024 * 1024 } as const;

const mib = (bytes: number): string => `${(bytes / 1048576).toFixed(1)} MiB`;

/**
 * The files upload will send: those whose hash the host's record does not hold (all of them on a
 * first run). A file changed behind kubeinstall's back is missed here, which the margin absorbs.
 */
export const filesToSend = (hp: HostPlan, facts: Facts): PlannedFile[] => {
  const recorded = parseHashRecord(facts.hashRecord);
  return hp.files.filter((f) => recorded.get(f.path)?.sha256 !== f.sha256);
};

/** Bytes written per folder: each file beside its target; a sudo user's upload first stages them all in its home. */
export const uploadFootprint = (hp: HostPlan, facts: Facts, sending: readonly PlannedFile[]): Map<string, number> => {
  const bytes = new Map<string, number>();
  const add = (dir: string, n: number): void => void bytes.set(dir, (bytes.get(dir) ?? 0) + n);
  for (const f of sending) add(posix.dirname(f.path), f.size);
  if (sending.length && stagingFor(hp.host.ssh.sudo) === 'home' && facts.stagingHome)
    add(
      facts.stagingHome,
      sending.reduce((n, f) => n + f.size, 0),
    );
  return bytes;
};

const diskSpaceProblem = (hp: HostPlan, facts: Facts): string | undefined => {
  const byMount = new Map<string, { free: number; bytes: number; dirs: string[] }>();
  for (const [dir, bytes] of uploadFootprint(hp, facts, filesToSend(hp, facts))) {
    const space = facts.diskSpace.get(dir);
    if (!space) continue; // not measured (df failed): the upload's own error still names the file
    const entry = byMount.get(space.mountPoint) ?? { free: space.freeBytes, bytes: 0, dirs: [] };
    byMount.set(space.mountPoint, { ...entry, bytes: entry.bytes + bytes, dirs: [...entry.dirs, dir] });
  }
  const short = [...byMount]
    .map(([mount, m]) => ({ mount, ...m, needed: Math.ceil(m.bytes * (1 + DISK_SPACE_MARGIN.share)) + DISK_SPACE_MARGIN.bytes }))
    .filter((m) => m.free < m.needed);
  return short.length
    ? short.map((m) => `${m.mount} (for ${m.dirs.join(', ')}): needs ${mib(m.needed)} (${mib(m.bytes)} to upload + margin), ${mib(m.free)} free`).join('; ')
    : undefined;
};

const kubernetesMinor = (input: PreflightInput): KubernetesMinor => minorOf(input.model.kubernetesVersion) as KubernetesMinor;
const seriesOf = (version: string): string => minorOf(version);

interface Verdict {
  readonly severity: Finding['severity'];
  readonly message: string;
}

/** A binary's version against the Kubernetes minor, reported on every host that gets the binary. */
const binaryVersion =
  (check: string, binary: string, verdict: (version: string, minor: KubernetesMinor) => Verdict | undefined) =>
  (input: PreflightInput): Finding[] => {
    const local = input.binaries.find((b) => b.name === binary);
    if (!local) return [];
    const found: Verdict | undefined = local.version
      ? verdict(local.version, kubernetesMinor(input))
      : { severity: 'warning', message: `cannot read the version of ${binary}, so it is not checked: ${local.versionUnknown ?? 'unknown'}` };
    if (!found) return [];
    return withFacts(input)
      .filter(({ hp }) => hp.files.some((f) => f.content.kind === 'local' && binaryNameOf(f.path) === binary))
      .map(({ hp }) => ({ check, host: hp.host.name, ...found }));
  };

export const containerdVerdict = (version: string, minor: KubernetesMinor): Verdict | undefined => {
  const supported = CONTAINERD_FOR_KUBERNETES[minor];
  const floor = supported.find((v) => seriesOf(v) === seriesOf(version));
  return floor && compareVersions(version, floor) >= 0
    ? undefined
    : {
        severity: 'error',
        message: `containerd ${version} is not supported with Kubernetes ${minor}; containerd supports it with ${supported.map((v) => `${v}+`).join(', ')}`,
      };
};

export const etcdVerdict = (version: string, minor: KubernetesMinor): Verdict | undefined => {
  const series = ETCD_FOR_KUBERNETES[minor];
  if (compareVersions(version, MIN_ETCD_VERSION) < 0) {
    return {
      severity: 'error',
      message: `etcd ${version} is older than ${MIN_ETCD_VERSION}, the oldest etcd kubeadm accepts; Kubernetes ${minor} runs with etcd ${series}`,
    };
  }
  return seriesOf(version) === series ? undefined : { severity: 'warning', message: `etcd ${version}: Kubernetes ${minor} is released with etcd ${series}` };
};

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
  (check: string, what: string, valueIn: (f: Facts) => string) =>
  (input: PreflightInput): Finding[] => {
    const byValue = new Map<string, string[]>();
    for (const [host, facts] of input.facts) byValue.set(valueIn(facts), [...(byValue.get(valueIn(facts)) ?? []), host]);
    return [...byValue]
      .filter(([, hosts]) => hosts.length > 1)
      .map(([value, hosts]) => ({ check, severity: 'error' as const, message: `hosts ${hosts.join(', ')} share the ${what} "${value}"` }));
  };

/** A condition prepare fixes, reported ahead as a warning: prepare's own decision, what it will do or why it cannot. */
const prepCheck = (name: string): PreflightCheck => {
  const item = PREP_ITEMS.find((i) => i.name === name);
  if (!item) throw new Error(`no prepare item ${name}`);
  return {
    name,
    description: item.description,
    run: perHost(name, 'warning', (hp, f) => {
      const d = prepDecision(item, f, hp);
      return d && `${d.problem}; ${d.blocked ?? item.remedy}`;
    }),
  };
};

/** The OS packages' findings of one check (table and decision in packages.ts, shared with prepare). */
const packageCheck =
  (check: PackageNeed['check']) =>
  (input: PreflightInput): Finding[] =>
    withFacts(input).flatMap(({ hp, facts }) =>
      packageFindings(input.model, hp.host, facts)
        .filter((f) => f.check === check)
        .map((f) => ({ ...f, host: hp.host.name })),
    );

const isWildcard = (address: string): boolean => address === '0.0.0.0' || address === '::';

const binaryNameOf = (path: string): string => path.slice(path.lastIndexOf('/') + 1);

/**
 * keepalived binds VRRP and the VIP to the interface holding a master's internal address. The VIP must be
 * free, or held by one of our masters (a re-run): a machine outside the cluster that answers for it would
 * share the address with the master keepalived gives it to, and clients would reach either.
 */
const vipFindings = (input: PreflightInput): Finding[] => {
  if (input.model.apiEndpoint.kind !== 'vip') return [];
  const vip = input.model.apiEndpoint.host;
  const masters = withFacts(input).filter(({ hp }) => holdsVip(input.model, hp.host));
  const findings: Finding[] = masters
    .filter(({ hp, facts }) => !facts.interfaces.has(hp.host.internalAddress))
    .map(({ hp }) => ({
      check: 'vip',
      severity: 'error',
      host: hp.host.name,
      message: `internal address ${hp.host.internalAddress} is on no interface of this host: keepalived could not hold the VIP ${vip} here`,
    }));
  if (masters.some(({ facts }) => facts.interfaces.has(vip))) return findings;
  const seenFrom = new Map<string, string[]>();
  for (const { hp, facts } of masters) {
    const lladdr = facts.neighbours.get(vip);
    if (lladdr) seenFrom.set(lladdr, [...(seenFrom.get(lladdr) ?? []), hp.host.name]);
  }
  const seen = [...seenFrom].map(([lladdr, from]) => `${lladdr}, seen from ${from.join(', ')}`);
  if (seen.length) {
    findings.push({
      check: 'vip',
      severity: 'error',
      message:
        `the VIP ${vip} (cluster.apiEndpoint) is already held by a machine that is not one of this cluster's masters ` +
        `(${seen.join('; ')}): free it or choose another address`,
    });
  }
  return findings;
};

/** Whether the host gets `name` from images/ (the plan's archives for it), or already has it in containerd. */
const hasImage = (hp: HostPlan, facts: Facts, name: string): boolean =>
  (hp.images ?? []).some((a) => a.images.some((i) => i.name === name || i.name === normalizeImageName(name))) || listsImage(facts.images, name);

/** A registry in cluster.registries serves it: containerd pulls it through the mirror when a pod needs it. */
const mirrored = (model: ClusterModel, name: string): boolean => model.registries.some((r) => r.host === registryOf(name));

/**
 * CoreDNS (cluster.dns: coredns) runs on nodes the scheduler picks, so its image is needed somewhere, not everywhere:
 * a warning when no kubelet host of the run gets or has it and no mirror serves it (its pods would not start offline).
 */
const corednsFinding = (input: PreflightInput): Finding[] => {
  const { coredns } = clusterImages(input.model);
  const kubeletHosts = withFacts(input).filter(({ hp }) => runsKubelet(hp.host));
  if (input.model.dns !== 'coredns' || !kubeletHosts.length || mirrored(input.model, coredns)) return [];
  if (kubeletHosts.some(({ hp, facts }) => hasImage(hp, facts, coredns))) return [];
  return [
    {
      check: 'images',
      severity: 'warning',
      message:
        `the CoreDNS image ${coredns} is neither in ${posix.join(input.model.binariesDir, IMAGES_SUBDIR)}/ nor on any kubelet host, and no ` +
        `registry mirror serves ${registryOf(coredns)}: CoreDNS pods start only where the hosts can pull it`,
    },
  ];
};

/**
 * The images a kubelet host cannot run pods without, from images/, containerd, or a mirror: the pause image
 * (containerd's sandbox_image, needed by every pod on every host); and CoreDNS's, somewhere (above).
 */
const imageFindings = (input: PreflightInput): Finding[] => {
  const { pause } = clusterImages(input.model);
  const missing: Finding[] = mirrored(input.model, pause)
    ? []
    : withFacts(input)
        .filter(({ hp, facts }) => runsKubelet(hp.host) && !hasImage(hp, facts, pause))
        .map(({ hp }) => ({
          check: 'images',
          severity: 'error',
          host: hp.host.name,
          message:
            `the pause image ${pause} (containerd's sandbox image, which every pod needs) is neither in ` +
            `${posix.join(input.model.binariesDir, IMAGES_SUBDIR)}/ nor in containerd here, and no registry mirror serves ${registryOf(pause)} ` +
            '(cluster.registries): put its archive in images/',
        }));
  return [...missing, ...corednsFinding(input)];
};

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
  prepCheck('swap'),
  prepCheck('firewall'),
  prepCheck('selinux'),
  {
    name: 'ports',
    description: "the components' ports are free on the addresses they bind",
    run: perHost('ports', 'error', (hp, f, input) => {
      // A listener conflicts when either side binds every address, or both bind the same one.
      const taken = rolePorts(input.model, hp.host)
        .filter((p) => runsRole(hp.host, p.role) && f.unitStates.get(p.unit) !== 'active')
        .filter((p) => f.listening.some((s) => s.port === p.port && (isWildcard(s.address) || isWildcard(p.address) || sameIp(s.address, p.address))));
      const byAddress = [...new Set(taken.map((p) => p.address))].map(
        (address) =>
          `already in use on ${address}: ${taken
            .filter((p) => p.address === address)
            .map((p) => `${p.port} (${p.what})`)
            .join(', ')}`,
      );
      return byAddress.length ? byAddress.join('; ') : undefined;
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
  prepCheck('modules'),
  {
    name: 'disk-space',
    description: `each file system the upload writes to has room for it, plus ${DISK_SPACE_MARGIN.share * 100}% and ${mib(DISK_SPACE_MARGIN.bytes)}`,
    run: perHost('disk-space', 'error', diskSpaceProblem),
  },
  {
    name: 'cgroups',
    description: 'nodes run the unified cgroup v2 hierarchy (the kubelet refuses v1 from Kubernetes 1.35)',
    run: (input) => {
      const minor = kubernetesMinor(input);
      return withFacts(input)
        .filter(({ hp, facts }) => runsRole(hp.host, 'node') && facts.cgroupVersion === 1)
        .map(({ hp }) => ({
          check: 'cgroups',
          severity: CGROUP_V1_SEVERITY[minor],
          host: hp.host.name,
          message:
            CGROUP_V1_SEVERITY[minor] === 'error'
              ? `cgroup v1 (/sys/fs/cgroup is not cgroup2): the kubelet of Kubernetes ${minor} refuses to start; boot with systemd.unified_cgroup_hierarchy=1`
              : `cgroup v1 (/sys/fs/cgroup is not cgroup2): Kubernetes ${minor} still runs on it, but its kubelet refuses it from 1.35`,
        }));
    },
  },
  {
    name: 'node-commands',
    description: 'nodes have iptables and python3 (errors without), conntrack and socat (warnings), or prepare installs them',
    run: packageCheck('node-commands'),
  },
  {
    name: 'packages',
    description: 'hosts have the OS packages their role needs (haproxy for node-local, keepalived for vip), or prepare installs them',
    run: packageCheck('packages'),
  },
  {
    name: 'containerd-version',
    description: "containerd is a release containerd supports with the cluster's Kubernetes minor (its RELEASES.md)",
    run: binaryVersion('containerd-version', 'containerd', containerdVerdict),
  },
  {
    name: 'etcd-version',
    description: `etcd is ${MIN_ETCD_VERSION} or newer, ideally the minor kubeadm pairs with the cluster's Kubernetes minor`,
    run: binaryVersion('etcd-version', 'etcd', etcdVerdict),
  },
  prepCheck('sysctls'),
  ...POD_NETWORK_CHECKS,
  {
    name: 'vip',
    description: 'apiEndpointKind vip: each master holds its internal address on an interface, and no machine but our masters holds the VIP',
    run: vipFindings,
  },
  {
    name: 'images',
    description:
      "kubelet hosts have the pause image: from <binariesDir>/images/, already in containerd's k8s.io namespace, or a registry mirror; " +
      'CoreDNS has its image on some kubelet host (a warning)',
    run: imageFindings,
  },
  {
    name: 'kubernetes-version',
    description:
      "the Kubernetes binaries on the hosts are at the inventory's version (deploy), or one minor below it at most (upgrade: no downgrade), " +
      'and no kubelet is newer than an API server',
    run: (input) => versionFindings(input.model, withFacts(input), input.upgrade === true).map((f) => ({ check: 'kubernetes-version', ...f })),
  },
  {
    name: 'etcd-restore',
    description: 'no `etcd restore` is unfinished on the host (starting etcd then could start a member that is not restored yet)',
    run: ({ hostPlans, facts }) =>
      hostPlans.flatMap((hp) => {
        const marker = facts.get(hp.host.name)?.etcdRestore;
        return marker
          ? [
              {
                check: 'etcd-restore',
                severity: 'error' as const,
                host: hp.host.name,
                message:
                  `an etcd restore is unfinished here (the old data dir: ${marker.aside}): ` +
                  're-run `kubeinstall etcd restore` with the same file to finish it first',
              },
            ]
          : [];
      }),
  },
];

export const PREFLIGHT_CHECK_NAMES = PREFLIGHT_CHECKS.map((c) => c.name);

/** Errors of ignored checks are kept, as warnings, so the output still says what was ignored. */
export const applyIgnores = (findings: readonly Finding[], ignored: ReadonlySet<string>): Finding[] =>
  findings.map((f) =>
    f.severity === 'error' && (ignored.has('all') || ignored.has(f.check)) ? { ...f, severity: 'warning', message: `${f.message} (ignored)` } : f,
  );

export const runPreflight = (input: PreflightInput, ignored: ReadonlySet<string>): Finding[] =>
  applyIgnores(
    PREFLIGHT_CHECKS.flatMap((c) => c.run(input)),
    ignored,
  );
