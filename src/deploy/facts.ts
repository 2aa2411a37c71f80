// What deploy needs to know about a host, gathered with one remote shell command and parsed here.
import { interfaceOfCommand } from '../render/keepalived.js';
import { factsImagesScript, parseImageList } from './ctr.js';
import { bigIntToIp } from '../util/ip.js';
import { quote, quoteAll } from '../util/shell.js';

export interface ListeningSocket {
  readonly address: string;
  readonly port: number;
}

export interface Facts {
  readonly os: string;
  readonly arch: string;
  readonly systemd: boolean;
  readonly hostname: string;
  readonly machineId: string;
  readonly swapDevices: number;
  readonly firewalldActive: boolean;
  readonly ufwActive: boolean;
  /** Whether systemd-resolved runs: the kubelet's resolvConf is then resolved's own file (render/node.ts kubeletResolvConf). */
  readonly systemdResolvedActive: boolean;
  /** `enforcing`, `permissive`, `disabled`, or `absent` when SELinux is not there at all. */
  readonly selinux: string;
  /** Seconds since the epoch on the host, and how far it is from ours (midpoint of the round trip). */
  readonly clockSkewSeconds: number;
  readonly listening: readonly ListeningSocket[];
  readonly loadedModules: ReadonlySet<string>;
  readonly sysctls: ReadonlyMap<string, string>;
  readonly procSysWritable: boolean;
  readonly hasModprobe: boolean;
  /** `systemctl is-active` of every unit the plan runs here. */
  readonly unitStates: ReadonlyMap<string, string>;
  /** Units whose files changed in an earlier run that did not restart them yet. */
  readonly pendingRestarts: readonly string[];
  /** Units whose reloadable config changed in an earlier run that did not reload them yet. */
  readonly pendingReloads: readonly string[];
  /** 2 when /sys/fs/cgroup is the unified (cgroup2) hierarchy, else 1 (v1 or hybrid, which the kubelet treats as v1). */
  readonly cgroupVersion: 1 | 2;
  /** Which of the queried commands are on the PATH (those given as absolute paths: executable there). */
  readonly commands: ReadonlySet<string>;
  /** Free space of the file system holding each queried folder (or its nearest existing parent). */
  readonly diskSpace: ReadonlyMap<string, DiskSpace>;
  /** The login user's home, where sudo users' uploads are staged; when asked for. */
  readonly stagingHome?: string;
  /** The lines of the hash record kubeinstall left on the host (see file-diff.ts), empty on a first run. */
  readonly hashRecord: readonly string[];
  /** Of the queried addresses, those this host holds, with the interface holding each. */
  readonly interfaces: ReadonlyMap<string, string>;
  /** Of the queried addresses this host does not hold, those another machine on the link answered ARP
   * (or neighbour discovery) for, with its link-layer address. */
  readonly neighbours: ReadonlyMap<string, string>;
  /** The host's addresses with their prefix lengths (`198.18.62.11/24`), when asked for: the networks it is on. */
  readonly networks: readonly string[];
  /** An unfinished `etcd restore` here: where it put (or puts) the member's old data dir. */
  readonly etcdRestore?: { readonly aside: string };
  /** Images in containerd's k8s.io namespace (name -> digest), when asked and containerd runs; else empty. */
  readonly images: ReadonlyMap<string, string>;
  /** What `--version` of each Kubernetes binary the upload would replace printed (installed-versions.ts), by binary name. */
  readonly installedVersions?: ReadonlyMap<string, string>;
}

export interface DiskSpace {
  readonly mountPoint: string;
  readonly freeBytes: number;
}

export interface FactsQuery {
  readonly units: readonly string[];
  readonly modules: readonly string[];
  readonly sysctlKeys: readonly string[];
  readonly commands: readonly string[];
  /** Absolute folders the upload writes into. */
  readonly diskDirs: readonly string[];
  /** The login user whose home holds the upload staging (sudo users), if any. */
  readonly stagingUser?: string;
  readonly hashRecord: string;
  /** Addresses to look up: which interface here holds each, else who answers for it on the link. */
  readonly addresses?: readonly string[];
  /** Ask containerd which images it has (kubelet hosts). */
  readonly images?: boolean;
  /** List the host's addresses with their prefixes (the bridge pod network's routes need the kubelet hosts on one network). */
  readonly networks?: boolean;
}

/** Where a host remembers, across runs, the units that still need a restart for files already uploaded. */
export const PENDING_RESTART_DIR = '/var/lib/kubeinstall/pending-restart';
/** On an etcd member while `etcd restore` has not finished there (src/etcd/restore-host.ts); deploy refuses to run then. */
export const ETCD_RESTORE_MARKER_DIR = '/var/lib/kubeinstall/etcd-restore';
/** The same for units that take a changed file on a reload (PlannedFile.reloads). */
export const PENDING_RELOAD_DIR = '/var/lib/kubeinstall/pending-reload';

const SYSCTL_ROOT = '/proc/sys/';
const sysctlPath = (key: string): string => `${SYSCTL_ROOT}${key.replace(/\./g, '/')}`;

/** `<path>:<value>` as grep -H prints it; a sysctl that is not there is left out (absent). */
const parseSysctlFile = (line: string): [string, string] => {
  const colon = line.indexOf(':');
  return [line.slice(SYSCTL_ROOT.length, colon).replace(/\//g, '.'), line.slice(colon + 1)];
};

/** The state of each unit, and which ones wait for a restart; part of the facts and asked again before starting. */
export const unitStatusScript = (units: readonly string[]): string =>
  [
    // one systemctl for all units: it prints their states in order
    ...(units.length ? [`set -- ${quoteAll(units)}`, 'for state in $(systemctl is-active "$@" 2>/dev/null); do echo "unit=$1=$state"; shift; done'] : []),
    `for f in ${PENDING_RESTART_DIR}/*; do [ -e "$f" ] && echo "pending=\${f##*/}"; done`,
    `for f in ${PENDING_RELOAD_DIR}/*; do [ -e "$f" ] && echo "pending-reload=\${f##*/}"; done`,
    'true',
  ].join('\n');

/** The state column of a listening socket in /proc/net/tcp. */
const TCP_LISTEN = '0A';

/** The OS's units deploy looks at, asked in the same systemctl call as the plan's: firewalls prepare turns off, and the resolver. */
const OS_UNITS = { firewalld: 'firewalld.service', ufw: 'ufw.service', systemdResolved: 'systemd-resolved.service' } as const;

/** A user name safe to leave unquoted, which `~user` (tilde expansion, getpwnam) needs. */
const PLAIN_USER = /^[a-z_][a-z0-9_.-]*$/i;

/**
 * Free bytes per folder in one `df` (GNU coreutils, as on every systemd distribution): each folder that
 * does not exist yet is measured at its nearest existing parent, where it will be created.
 */
const diskSpaceScript = (dirs: readonly string[], stagingUser: string | undefined): string[] => {
  const home = stagingUser && PLAIN_USER.test(stagingUser) ? [`home=~${stagingUser}`, 'echo "home=$home"'] : ['home='];
  return [
    ...home,
    'set --',
    `for d in ${quoteAll(dirs)} \${home:+"$home"}; do`,
    '  case $d in /*) ;; *) continue ;; esac',
    '  a=$d; while [ ! -d "$a" ]; do a=${a%/*}; a=${a:-/}; done',
    '  echo "disk-dir=$d=$a"; set -- "$@" "$a"',
    'done',
    '[ $# -gt 0 ] && df -B1 --output=avail,file,target -- "$@" 2>/dev/null | while IFS= read -r line; do echo "df=$line"; done',
  ];
};

/** The neighbour states in which a machine has answered for the address (`ip neigh`; not INCOMPLETE or FAILED). */
const ANSWERED = new Set(['REACHABLE', 'STALE', 'DELAY', 'PROBE', 'PERMANENT', 'NOARP']);

/**
 * `addr=<address>=<interface>` when the host holds the address, else `neigh=<address>=<ip neigh line>`
 * after asking the link afresh: the cached entry is dropped (it may name a machine long gone), and a
 * TCP connection attempt (1 s at most; the port does not matter) makes the kernel resolve the address.
 */
const addressScript = (address: string): string =>
  [
    `a=${quote(address)}; n=$(${interfaceOfCommand(address)})`,
    'if [ -n "$n" ]; then echo "addr=$a=$n"; else',
    '  ip neigh flush to "$a" 2>/dev/null',
    `  python3 -c ${quote(ARP_PY)} "$a" 2>/dev/null`,
    '  ip neigh show to "$a" 2>/dev/null | while IFS= read -r line; do echo "neigh=$a=$line"; done',
    'fi',
  ].join('\n');

const ARP_PY = `import socket, sys
try:
    socket.create_connection((sys.argv[1], 9), timeout=1).close()
except OSError:
    pass`;

/** `<address> dev <if> lladdr <mac> <STATE>`: the link-layer address, when the state says a machine answered. */
const parseNeighbour = (line: string): string | undefined => {
  const words = line.trim().split(/\s+/);
  const lladdr = words[words.indexOf('lladdr') + 1];
  return words.includes('lladdr') && lladdr && ANSWERED.has(words[words.length - 1]!) ? lladdr : undefined;
};

/** Prints `key=<first line of file>`, or `key=` when it cannot be read; only for files readable a byte at a time. */
const readLine = (key: string, path: string): string => `v=; read -r v 2>/dev/null < ${quote(path)}; echo "${key}=$v"`;

/**
 * A POSIX sh script printing `key=value` lines; every probe tolerates a missing tool. It runs on
 * every host at every deploy, so it reads /proc and /sys with shell builtins and starts as few
 * processes as it can (one systemctl, one date): each process launch costs milliseconds on a busy host.
 */
export const factsScript = (q: FactsQuery): string =>
  [
    'set +e',
    '. /etc/os-release 2>/dev/null; echo "os=${PRETTY_NAME:-unknown}"',
    // /proc/sys/kernel/arch is Linux 6.1+; uname elsewhere
    'arch=; read -r arch 2>/dev/null < /proc/sys/kernel/arch; echo "arch=${arch:-$(uname -m)}"',
    '[ -d /run/systemd/system ] && echo systemd=yes || echo systemd=no',
    readLine('hostname', '/proc/sys/kernel/hostname'),
    readLine('machine-id', '/etc/machine-id'),
    // /proc/swaps has a header line, then one line per active swap device
    'n=-1; while read -r line; do n=$((n + 1)); done 2>/dev/null < /proc/swaps; echo "swap=$((n < 0 ? 0 : n))"',
    // getenforce prints what /sys/fs/selinux/enforce says; absent when neither is there
    'if read -r e 2>/dev/null < /sys/fs/selinux/enforce; then [ "$e" = 1 ] && echo selinux=enforcing || echo selinux=permissive',
    'elif command -v getenforce >/dev/null 2>&1; then echo "selinux=$(getenforce | tr A-Z a-z)"; else echo selinux=; fi',
    'echo "clock=$(date +%s.%N)"',
    '[ -w /proc/sys/net/ipv4/ip_forward ] && echo proc-sys=writable || echo proc-sys=read-only',
    // the unified hierarchy's root has cgroup.controllers; a v1 or hybrid tmpfs never does (same answer as `stat -fc %T`, no process)
    '[ -f /sys/fs/cgroup/cgroup.controllers ] && echo cgroup=2 || echo cgroup=1',
    // `[ -x ]` for a path: dash's `command -v /path` also accepts a file that cannot be run
    ...q.commands.map((c) => `${c.startsWith('/') ? `[ -x ${quote(c)} ]` : `command -v ${quote(c)} >/dev/null 2>&1`} && echo command=${quote(c)}`),
    `while IFS= read -r line; do echo "record=$line"; done 2>/dev/null < ${quote(q.hashRecord)}`,
    `while IFS= read -r line; do echo "etcd-restore=$line"; done 2>/dev/null < ${ETCD_RESTORE_MARKER_DIR}/state`,
    ...diskSpaceScript(q.diskDirs, q.stagingUser),
    'command -v modprobe >/dev/null 2>&1 && echo modprobe=yes || echo modprobe=no',
    ...q.modules.map((m) => `[ -d /sys/module/${quote(m)} ] && echo module=${quote(m)}`),
    // not `read`: it reads a byte at a time, and /proc/sys integer files end at the first byte read at an offset
    ...(q.sysctlKeys.length
      ? [`grep -H '' -- ${quoteAll(q.sysctlKeys.map(sysctlPath))} 2>/dev/null | while IFS= read -r line; do echo "sysctl-file=$line"; done`]
      : []),
    unitStatusScript([...Object.values(OS_UNITS), ...q.units]),
    ...(q.addresses ?? []).map(addressScript),
    ...(q.images ? [factsImagesScript] : []),
    // `2: host0    inet 198.18.62.11/24 brd ...`: the fourth word
    ...(q.networks ? ['ip -o addr show 2>/dev/null | while read -r _ _ _ net _; do echo "net=$net"; done'] : []),
    // the listening sockets only: a busy host has thousands of connections
    `grep -h ' ${TCP_LISTEN} ' /proc/net/tcp /proc/net/tcp6 2>/dev/null | while IFS= read -r line; do echo "tcp=$line"; done`,
    'true',
  ].join('\n');

/** /proc/net/tcp hex address: IPv4 is one little-endian word; IPv6 four of them. An IPv4-mapped IPv6
 * address (a dual-stack socket bound to an IPv4 address) is given as the IPv4 address. */
const procNetAddress = (hex: string): string => {
  const words = hex.match(/.{8}/g) ?? [];
  const value = words.flatMap((w) => (w.match(/../g) ?? []).reverse()).reduce((acc, b) => (acc << 8n) | BigInt(parseInt(b, 16)), 0n);
  if (words.length === 1) return bigIntToIp(value, 4);
  return value >> 32n === 0xffffn ? bigIntToIp(value & 0xffffffffn, 4) : bigIntToIp(value, 6);
};

const parseListening = (line: string): ListeningSocket | undefined => {
  const fields = line.trim().split(/\s+/);
  const [local, , state] = [fields[1], fields[2], fields[3]];
  if (!local || state !== TCP_LISTEN) return undefined;
  const [addr, port] = local.split(':');
  return { address: procNetAddress(addr!), port: parseInt(port!, 16) };
};

/** `df --output=avail,file,target` lines (padded columns; the mount point last, as it may hold spaces). */
const parseDiskSpace = (measuredAt: ReadonlyMap<string, string>, dfLines: readonly string[]): Map<string, DiskSpace> => {
  const byFile = new Map<string, DiskSpace>();
  for (const line of dfLines) {
    const m = /^\s*(\d+)\s+(\S+)\s+(.+?)\s*$/.exec(line);
    if (m) byFile.set(m[2]!, { freeBytes: Number(m[1]), mountPoint: m[3]! });
  }
  return new Map([...measuredAt].flatMap(([dir, at]) => (byFile.has(at) ? [[dir, byFile.get(at)!] as const] : [])));
};

/** The restore marker's state lines (`sha256=`, `aside=`), when there is one. */
const restoreMarker = (lines: readonly string[]): { etcdRestore?: { aside: string } } =>
  lines.length ? { etcdRestore: { aside: lines.find((l) => l.startsWith('aside='))?.slice('aside='.length) ?? 'unknown' } } : {};

export const parseFacts = (stdout: string, localMidpointSeconds: number): Facts => {
  const single = new Map<string, string>();
  const multi = new Map<string, string[]>();
  for (const line of stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    single.set(key, value);
    multi.set(key, [...(multi.get(key) ?? []), value]);
  }
  const all = (key: string): string[] => multi.get(key) ?? [];
  const pairs = (key: string): Map<string, string> =>
    new Map(all(key).map((v) => [v.slice(0, v.lastIndexOf('=')), v.slice(v.lastIndexOf('=') + 1)] as [string, string]));
  const clock = Number(single.get('clock'));
  const units = pairs('unit');
  const osUnits = new Set<string>(Object.values(OS_UNITS));
  return {
    os: single.get('os') ?? 'unknown',
    arch: single.get('arch') ?? 'unknown',
    systemd: single.get('systemd') === 'yes',
    hostname: single.get('hostname') ?? '',
    machineId: single.get('machine-id') ?? '',
    swapDevices: Number(single.get('swap') ?? 0),
    firewalldActive: units.get(OS_UNITS.firewalld) === 'active',
    ufwActive: units.get(OS_UNITS.ufw) === 'active',
    systemdResolvedActive: units.get(OS_UNITS.systemdResolved) === 'active',
    selinux: single.get('selinux') || 'absent',
    clockSkewSeconds: Number.isFinite(clock) ? clock - localMidpointSeconds : 0,
    listening: all('tcp')
      .map(parseListening)
      .filter((s): s is ListeningSocket => s !== undefined),
    loadedModules: new Set(all('module')),
    sysctls: new Map(all('sysctl-file').map(parseSysctlFile)),
    procSysWritable: single.get('proc-sys') === 'writable',
    hasModprobe: single.get('modprobe') === 'yes',
    unitStates: new Map([...units].filter(([u]) => !osUnits.has(u))),
    pendingRestarts: all('pending'),
    pendingReloads: all('pending-reload'),
    cgroupVersion: single.get('cgroup') === '2' ? 2 : 1,
    commands: new Set(all('command')),
    diskSpace: parseDiskSpace(pairs('disk-dir'), all('df')),
    ...(single.get('home')?.startsWith('/') ? { stagingHome: single.get('home')! } : {}),
    hashRecord: all('record'),
    interfaces: pairs('addr'),
    neighbours: new Map(
      [...pairs('neigh')].flatMap(([address, line]) => {
        const lladdr = parseNeighbour(line);
        return lladdr ? [[address, lladdr] as const] : [];
      }),
    ),
    networks: all('net'),
    ...restoreMarker(all('etcd-restore')),
    images: parseImageList(all('image')),
  };
};
