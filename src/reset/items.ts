// What reset removes from a host, in order, as a table: each item reads what is there now with a
// read-only command (a dry run runs it too), decides from that output alone (pure, unit-tested) what
// goes, and removes it with one command. Every item acts on what it finds at that moment, so a reset
// stopped half-way (Ctrl-C, a lost connection) finishes when run again, and a reset host is a no-op.
//
// What kubeinstall placed is known from the host's record of uploaded files (file-diff.ts HASH_RECORD),
// not guessed: the units to stop are the unit files (and drop-ins) in it, the files to remove are its
// lines, and the state a service writes at run time goes when the record shows kubeinstall installed
// that service. The record itself goes last, with kubeinstall's state folder.
//
// Extending: a CNI (or any later component) whose config files and units deploy uploads is covered
// already through the record; its iptables chains go by adding their prefix to OWNED_CHAIN_PREFIXES
// (iptables.ts), its run-time state folders by an entry in SERVICE_STATE, its routes are the pod
// routes below.
import { posix } from 'node:path';
import type { Cidr } from '../inventory/model.js';
import { HASH_RECORD } from '../deploy/file-diff.js';
import { binPath, ETCD_DATA_DIR, HOST_PATHS, K8S_DIR, KUBELET_DIR, UNIT_DIR } from '../render/paths.js';
import { CNI_BIN_DIR } from '../render/pod-network.js';
import { cidrContains, parseCidr } from '../util/ip.js';
import { quote, quoteAll } from '../util/shell.js';
import { iptablesCleanup, iptablesInspectCommand } from './iptables.js';

export interface ResetOptions {
  /** Delete etcd's data instead of keeping it aside. */
  readonly purgeData: boolean;
  /** Where etcd's data is moved when kept: one name per run, the same on every host. */
  readonly etcdAside: string;
}

/** What the items decide from besides the host's own output. */
export interface ResetInput extends ResetOptions {
  /** Paths of the host's record of the files kubeinstall placed (empty: none known). */
  readonly record: readonly string[];
  readonly podCidr: Cidr;
}

export interface Removal {
  /** How the tree and the dry run say it: `[do, done]`. */
  readonly verb: readonly [string, string];
  readonly what: readonly string[];
  readonly command: string;
}

export interface ResetItem {
  readonly title: string;
  /** A read-only command printing what is there now; undefined when there is nothing to look for. */
  inspect(input: ResetInput): string | undefined;
  /** What goes and how, from what `inspect` printed; undefined when nothing of this item is there. */
  removal(stdout: string, input: ResetInput): Removal | undefined;
}

/** kubeinstall's own state on every host: the record, pending restarts. */
export const STATE_DIR = posix.dirname(HASH_RECORD);

/** The folders the layout (render/paths.ts) creates for kubeinstall's files; each goes once no file is left in it (the CNI
 * plugins' /opt/cni too: another network's plugins there keep it). */
export const OWN_DIRS: readonly string[] = [
  K8S_DIR,
  ...[HOST_PATHS.etcdConfig, HOST_PATHS.containerdConfig, HOST_PATHS.kubeProxyConfig].map(posix.dirname),
  posix.dirname(CNI_BIN_DIR),
];

/**
 * What a service makes at run time (never uploaded, so not in the record), removed when the record
 * holds that service's binary: `dirs` go whole (mounts under them are unmounted first, as kubeadm reset
 * does), `emptyDirs` only while no file is in them (another CNI's config may be). etcd's data is an
 * item of its own (kept aside unless purged). containerd's dirs are its defaults (root, state and the
 * opt plugin's /opt/containerd; our config.toml leaves them); its CRI plugin creates the CNI config
 * folder /etc/cni/net.d on start. A CNI adds its plugins' state here (e.g. /var/lib/cni).
 */
export const SERVICE_STATE: readonly { readonly binary: string; readonly dirs: readonly string[]; readonly emptyDirs?: readonly string[] }[] = [
  { binary: 'kubelet', dirs: [KUBELET_DIR] },
  { binary: 'containerd', dirs: ['/var/lib/containerd', '/run/containerd', '/opt/containerd'], emptyDirs: ['/etc/cni'] },
];

const UNIT_SUFFIX = /\.(service|socket|timer|path|mount|target|slice)$/;

/** The units the record configures: unit files kubeinstall placed under UNIT_DIR, and units it placed a drop-in for. */
export const recordUnits = (record: readonly string[]): string[] => {
  const units = record.flatMap((path) => {
    const rel = path.startsWith(`${UNIT_DIR}/`) ? path.slice(UNIT_DIR.length + 1).split('/') : [];
    if (rel.length === 1 && UNIT_SUFFIX.test(rel[0]!)) return [rel[0]!];
    if (rel.length === 2 && rel[0]!.endsWith('.d') && UNIT_SUFFIX.test(rel[0]!.slice(0, -2))) return [rel[0]!.slice(0, -2)];
    return [];
  });
  return [...new Set(units)];
};

const installed = (record: readonly string[], binary: string): boolean => record.includes(binPath(binary));

const stateDirs = (record: readonly string[]): string[] => SERVICE_STATE.filter((s) => installed(record, s.binary)).flatMap((s) => s.dirs);

const emptyDirCandidates = (record: readonly string[]): string[] => [
  ...OWN_DIRS,
  ...SERVICE_STATE.filter((s) => installed(record, s.binary)).flatMap((s) => s.emptyDirs ?? []),
];

const lines = (stdout: string): string[] =>
  stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);

/** Prints each of `paths` that exists (as a file, link or folder), one a line. */
const existing = (paths: readonly string[]): string | undefined =>
  paths.length ? `for p in ${quoteAll(paths)}; do if [ -e "$p" ] || [ -L "$p" ]; then echo "$p"; fi; done; true` : undefined;

/** /proc/self/mounts escapes space, tab, newline and backslash as octal. */
const unescapeMount = (field: string): string => field.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));

/** Mount points at or under `dirs` from /proc/self/mounts, the last mounted first. */
export const mountsUnder = (procMounts: string, dirs: readonly string[]): string[] =>
  lines(procMounts)
    .map((l) => unescapeMount(l.split(' ')[1] ?? ''))
    .filter((mp) => dirs.some((d) => mp === d || mp.startsWith(`${d}/`)))
    .reverse(); // mounted later is on top: unmount in reverse order

/** Destinations of `ip -o route show` lines inside the pod range (routes a CNI installed to reach pods). */
export const podRoutes = (routes: string, podCidr: Cidr): string[] => {
  const range = parseCidr(podCidr.text);
  if (typeof range === 'string') return [];
  return lines(routes)
    .map((l) => l.split(/\s+/))
    .map((f) => (['unicast', 'blackhole', 'unreachable', 'prohibit', 'throw'].includes(f[0]!) ? f[1]! : f[0]!))
    .filter((dest) => cidrContains(range, dest.split('/')[0]!));
};

/** The items, in the order they run: the services stop before anything under them goes. */
export const RESET_ITEMS: readonly ResetItem[] = [
  {
    title: 'stop units',
    inspect: ({ record }) => {
      const units = recordUnits(record);
      return units.length
        ? `for u in ${quoteAll(units)}; do echo "$u $(systemctl show -p LoadState -p ActiveState --value -- "$u" | tr '\\n' ' ')"; done`
        : undefined;
    },
    removal: (stdout) => {
      // `<unit> <LoadState> <ActiveState>`: a loaded unit is stopped and disabled; one left failed (its file already gone) is forgotten.
      const units = lines(stdout).map((l) => l.split(/\s+/));
      const loaded = units.filter(([, load]) => load === 'loaded').map(([u]) => u!);
      const failed = units.filter(([, , active]) => active === 'failed').map(([u]) => u!);
      const all = [...new Set([...loaded, ...failed])];
      if (!all.length) return undefined;
      const disable = loaded.length ? `systemctl disable --quiet --now -- ${quoteAll(loaded)}; rc=$?; ` : 'rc=0; ';
      return {
        verb: ['stop and disable', 'stopped and disabled'],
        what: all,
        command: `${disable}systemctl reset-failed -- ${quoteAll(all)} 2>/dev/null; exit $rc`,
      };
    },
  },
  {
    title: 'stop pods',
    // The kubelet (systemd cgroup driver) puts every pod under this slice; containerd's KillMode=process
    // leaves the containers running when it stops, so they are stopped here, once the kubelet cannot
    // start them again.
    inspect: () => 'systemctl is-active kubepods.slice 2>/dev/null; true',
    removal: (stdout) =>
      stdout.trim() === 'active' ? { verb: ['stop', 'stopped'], what: ['every pod (kubepods.slice)'], command: 'systemctl stop kubepods.slice' } : undefined,
  },
  {
    title: 'remove iptables chains',
    inspect: iptablesInspectCommand,
    removal: (stdout) => {
      const cleanup = iptablesCleanup(stdout);
      return cleanup && { verb: ['remove the chains', 'removed the chains'], what: cleanup.what, command: cleanup.command };
    },
  },
  {
    title: 'remove pod routes',
    inspect: ({ podCidr }) => `ip -o -${podCidr.family} route show 2>/dev/null; true`,
    removal: (stdout, { podCidr }) => {
      const routes = podRoutes(stdout, podCidr);
      return routes.length
        ? {
            verb: ['remove the routes to', 'removed the routes to'],
            what: routes,
            command: routes.map((r) => `ip -${podCidr.family} route del ${quote(r)}`).join(' && '),
          }
        : undefined;
    },
  },
  {
    title: 'unmount',
    inspect: () => 'cat /proc/self/mounts',
    removal: (stdout, { record }) => {
      const mounts = mountsUnder(stdout, stateDirs(record));
      return mounts.length ? { verb: ['unmount', 'unmounted'], what: mounts, command: `umount -- ${quoteAll(mounts)}` } : undefined;
    },
  },
  {
    title: 'remove files',
    inspect: ({ record }) => existing(record),
    removal: (stdout, { record }) => {
      const files = lines(stdout);
      if (!files.length) return undefined;
      // systemd forgets the units whose files went
      const reload = recordUnits(record).length ? ' && systemctl daemon-reload' : '';
      return { verb: ['remove', 'removed'], what: files, command: `rm -f -- ${quoteAll(files)}${reload}` };
    },
  },
  {
    title: 'remove empty folders',
    inspect: ({ record }) =>
      `for d in ${quoteAll(emptyDirCandidates(record))}; do if [ -d "$d" ] && [ -z "$(find "$d" ! -type d -print -quit)" ]; then echo "$d"; fi; done; true`,
    removal: (stdout) => {
      const dirs = lines(stdout);
      return dirs.length ? { verb: ['remove', 'removed'], what: dirs, command: `rm -r -- ${quoteAll(dirs)}` } : undefined;
    },
  },
  {
    title: 'remove service state',
    inspect: ({ record }) => existing(stateDirs(record)),
    removal: (stdout) => {
      const dirs = lines(stdout);
      // --one-file-system: never through a mount that is still there
      return dirs.length ? { verb: ['remove', 'removed'], what: dirs, command: `rm -rf --one-file-system -- ${quoteAll(dirs)}` } : undefined;
    },
  },
  {
    title: 'etcd data',
    inspect: ({ record }) => (installed(record, 'etcd') ? existing([ETCD_DATA_DIR]) : undefined),
    removal: (stdout, { purgeData, etcdAside }) => {
      if (!lines(stdout).length) return undefined;
      return purgeData
        ? { verb: ['delete', 'deleted'], what: [`${ETCD_DATA_DIR} (--purge-data)`], command: `rm -rf --one-file-system -- ${ETCD_DATA_DIR}` }
        : { verb: ['keep aside', 'kept aside'], what: [`${ETCD_DATA_DIR} as ${etcdAside}`], command: `mv -T -- ${ETCD_DATA_DIR} ${quote(etcdAside)}` };
    },
  },
  {
    title: 'remove kubeinstall state',
    inspect: () => existing([STATE_DIR]),
    removal: (stdout) => (lines(stdout).length ? { verb: ['remove', 'removed'], what: [STATE_DIR], command: `rm -rf -- ${STATE_DIR}` } : undefined),
  },
];

/** `/var/lib/etcd.reset-20261201T061500Z`: where a run keeps etcd's data aside. */
export const etcdAsidePath = (at: Date): string => `${ETCD_DATA_DIR}.reset-${at.toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '')}`;
