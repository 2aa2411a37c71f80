// What deploy needs to know about a host, gathered with one remote shell command and parsed here.
import { quote, quoteAll } from './shell.js';

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
}

export interface FactsQuery {
  readonly units: readonly string[];
  readonly modules: readonly string[];
  readonly sysctlKeys: readonly string[];
}

/** Where a host remembers, across runs, the units that still need a restart for files already uploaded. */
export const PENDING_RESTART_DIR = '/var/lib/kubeinstall/pending-restart';

const sysctlPath = (key: string): string => `/proc/sys/${key.replace(/\./g, '/')}`;

/** The state of each unit, and which ones wait for a restart; part of the facts and asked again before starting. */
export const unitStatusScript = (units: readonly string[]): string =>
  [
    // one systemctl for all units: it prints their states in order
    ...(units.length ? [`set -- ${quoteAll(units)}`, 'for state in $(systemctl is-active "$@" 2>/dev/null); do echo "unit=$1=$state"; shift; done'] : []),
    `for f in ${PENDING_RESTART_DIR}/*; do [ -e "$f" ] && echo "pending=\${f##*/}"; done`,
    'true',
  ].join('\n');

/** A POSIX sh script printing `key=value` lines; every probe tolerates a missing tool. */
export const factsScript = (q: FactsQuery): string =>
  [
    'set +e',
    '. /etc/os-release 2>/dev/null; echo "os=${PRETTY_NAME:-unknown}"',
    'echo "arch=$(uname -m)"',
    '[ -d /run/systemd/system ] && echo systemd=yes || echo systemd=no',
    'echo "hostname=$(hostname 2>/dev/null || cat /etc/hostname)"',
    'echo "machine-id=$(cat /etc/machine-id 2>/dev/null)"',
    'echo "swap=$(tail -n +2 /proc/swaps 2>/dev/null | wc -l)"',
    'set -- $(systemctl is-active firewalld ufw 2>/dev/null); echo "firewalld=$1"; echo "ufw=$2"',
    'echo "selinux=$(getenforce 2>/dev/null | tr A-Z a-z)"',
    'echo "clock=$(date +%s.%N)"',
    '[ -w /proc/sys/net/ipv4/ip_forward ] && echo proc-sys=writable || echo proc-sys=read-only',
    'command -v modprobe >/dev/null 2>&1 && echo modprobe=yes || echo modprobe=no',
    ...q.modules.map((m) => `[ -d /sys/module/${quote(m)} ] && echo module=${quote(m)}`),
    ...q.sysctlKeys.map((k) => `echo "sysctl=${k}=$(cat ${quote(sysctlPath(k))} 2>/dev/null || echo absent)"`),
    unitStatusScript(q.units),
    'cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | sed "s/^/tcp=/"',
    'true',
  ].join('\n');

/** /proc/net/tcp hex address: IPv4 is one little-endian word; IPv6 four of them. */
const procNetAddress = (hex: string): string => {
  const words = hex.match(/.{8}/g) ?? [];
  const bytes = words.flatMap((w) => (w.match(/../g) ?? []).reverse().map((b) => parseInt(b, 16)));
  if (bytes.length === 4) return bytes.join('.');
  const groups = Array.from({ length: 8 }, (_, i) => ((bytes[2 * i]! << 8) | bytes[2 * i + 1]!).toString(16));
  const text = groups.join(':');
  if (text === '0:0:0:0:0:0:0:0') return '::';
  if (text.startsWith('0:0:0:0:0:ffff:')) return bytes.slice(12).join('.');
  return text.replace(/(^|:)0(:0)+(:|$)/, '::');
};

const TCP_LISTEN = '0A';

const parseListening = (line: string): ListeningSocket | undefined => {
  const fields = line.trim().split(/\s+/);
  const [local, , state] = [fields[1], fields[2], fields[3]];
  if (!local || state !== TCP_LISTEN) return undefined;
  const [addr, port] = local.split(':');
  return { address: procNetAddress(addr!), port: parseInt(port!, 16) };
};

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
  return {
    os: single.get('os') ?? 'unknown',
    arch: single.get('arch') ?? 'unknown',
    systemd: single.get('systemd') === 'yes',
    hostname: single.get('hostname') ?? '',
    machineId: single.get('machine-id') ?? '',
    swapDevices: Number(single.get('swap') ?? 0),
    firewalldActive: single.get('firewalld') === 'active',
    ufwActive: single.get('ufw') === 'active',
    selinux: single.get('selinux') || 'absent',
    clockSkewSeconds: Number.isFinite(clock) ? clock - localMidpointSeconds : 0,
    listening: all('tcp').map(parseListening).filter((s): s is ListeningSocket => s !== undefined),
    loadedModules: new Set(all('module')),
    sysctls: pairs('sysctl'),
    procSysWritable: single.get('proc-sys') === 'writable',
    hasModprobe: single.get('modprobe') === 'yes',
    unitStates: pairs('unit'),
    pendingRestarts: all('pending'),
  };
};
