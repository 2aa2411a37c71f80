// `kubeinstall lab`: the test bed as a product. `up` checks this machine, boots persistent hosts on a bridge
// of the lab's own and writes the lab's folder (inventory, key, known_hosts, binaries, state); `status`,
// `down` and `ssh` work from the state file in later processes, on processes by pid and the rest by exact name.
import { accessSync, constants, existsSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { chmod, copyFile, cp, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { delimiter, dirname, join } from 'node:path';
import { confirmDestructive } from '../cli/confirm.js';
import { readBinaryVersion } from '../deploy/binaries.js';
import { etcdVerdict, containerdVerdict } from '../deploy/preflight-checks.js';
import { loadInventoryText } from '../inventory/load.js';
import type { StarterShape } from '../inventory/template.js';
import { requiredBinaries } from '../render/binaries.js';
import { CNI_FOLDER } from '../binaries/sources.js';
import { IMAGES_SUBDIR } from '../images/load.js';
import { KubeinstallError, UsageError } from '../util/errors.js';
import { cidrText } from '../util/ip.js';
import { didYouMean } from '../util/suggest.js';
import { minorOf, type KubernetesMinor } from '../versions.js';
import { ETCD_PACKAGES, MACHINE_BINARIES, MACHINE_CNI, planBinaries } from './binaries.js';
import { CGROUP_HIERARCHIES, cleanupArgs, pid1IsSystemd } from './host.js';
import { CACHE_DIR, cachedImage, imagePaths } from './image.js';
import { startTestbed } from './index.js';
import { renderLabInventory } from './inventory.js';
import { freeSubnet, labHosts, labNetworkName, labRange, LAB_RANGE_ENV, MAX_LAB_HOSTS, usedNetworks, type LabHost } from './layout.js';
import { bridgeName, removeBridge } from './network.js';
import { labProblems, LAB_COMMANDS, type LabFacts } from './prerequisites.js';
import { run } from './proc.js';
import { LAB_FILES, readLabState, statePath, type LabHostState, type LabState } from './state.js';

const onPath = (command: string): string | undefined =>
  (process.env.PATH ?? '')
    .split(delimiter)
    .filter(Boolean)
    .map((d) => join(d, command))
    .find((p) => {
      try {
        accessSync(p, constants.X_OK);
        return statSync(p).isFile();
      } catch {
        return false;
      }
    });

const isRoot = (): boolean => process.getuid?.() === 0;

/** The folder must not exist yet or be empty: it becomes the lab's, and `lab down` removes it. */
const assertDirFree = (dir: string): void => {
  if (!existsSync(dir)) return;
  if (!statSync(dir).isDirectory()) throw new UsageError(`${dir} is not a folder`);
  if (readdirSync(dir).length > 0) {
    throw new UsageError(
      existsSync(statePath(dir))
        ? `${dir} holds a lab already (kubeinstall lab status --dir ${dir}; lab down --dir ${dir} removes it)`
        : `${dir} is not empty: a lab needs a folder of its own (lab down removes it)`,
    );
  }
};

const gatherFacts = async (): Promise<{ facts: LabFacts; subnet: string | undefined }> => {
  const range = labRange(process.env[LAB_RANGE_ENV]);
  const commands = new Set([...LAB_COMMANDS.map((c) => c.command), 'debootstrap', 'zstd'].filter((c) => onPath(c)));
  // Without ip the machine's networks are unknown: that is the problem reported, not a full range.
  const used = commands.has('ip')
    ? usedNetworks((await run('ip', ['-o', '-4', 'addr', 'show'])).stdout, (await run('ip', ['-o', '-4', 'route', 'show'])).stdout)
    : undefined;
  const subnet = used && freeSubnet(range, used);
  const facts: LabFacts = {
    root: isRoot(),
    commands,
    image: cachedImage(),
    cacheDir: CACHE_DIR,
    pid1Systemd: pid1IsSystemd(),
    cgroupHierarchies: new Set(CGROUP_HIERARCHIES.filter((h) => existsSync(`/sys/fs/cgroup/${h}`))),
    range: cidrText(range),
    networksRead: used !== undefined,
    freeSubnet: subnet,
  };
  return { facts, subnet };
};

const givenBinaries = (dir: string | undefined): Map<string, string> => {
  if (!dir) return new Map();
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`--binaries ${dir}: not a folder`);
  return new Map(readdirSync(dir).map((f) => [f, join(dir, f)]));
};

const machineBinaries = (): Map<string, string> => new Map(MACHINE_BINARIES.flatMap((b) => (onPath(b.name) ? [[b.name, onPath(b.name)!] as const] : [])));

/** Debian's etcd when neither the machine nor --binaries has etcd and etcdctl: asked first, or --yes. */
const ensureEtcd = async (given: ReadonlyMap<string, string>, yes: boolean): Promise<void> => {
  const lacking = ['etcd', 'etcdctl'].filter((b) => !given.has(b) && !onPath(b));
  if (!lacking.length) return;
  await confirmDestructive({
    yes,
    command: 'kubeinstall lab up',
    consequences: [`install Debian's ${ETCD_PACKAGES.join(' and ')} on this machine (apt-get install), for ${lacking.join(' and ')}`],
  });
  await run('apt-get', ['install', '-y', '--no-install-recommends', ...ETCD_PACKAGES], { timeoutMs: 10 * 60_000 });
};

const copyExecutable = async (from: string, to: string): Promise<void> => {
  await copyFile(from, to);
  await chmod(to, 0o755);
};

const fillBinaries = async (dest: string, copies: ReadonlyMap<string, string>, given: string | undefined): Promise<void> => {
  await mkdir(join(dest, CNI_FOLDER), { recursive: true });
  await Promise.all([...copies].map(([name, from]) => copyExecutable(from, join(dest, name))));
  const cni = [given && join(given, CNI_FOLDER), MACHINE_CNI.dir].find((d): d is string => !!d && existsSync(d));
  if (cni) await Promise.all((await readdir(cni)).map((f) => copyExecutable(join(cni, f), join(dest, CNI_FOLDER, f))));
  // The offline images (the pause image, CoreDNS) deploy loads into containerd, when the given folder has them.
  if (given && existsSync(join(given, IMAGES_SUBDIR))) await cp(join(given, IMAGES_SUBDIR), join(dest, IMAGES_SUBDIR), { recursive: true });
};

/** The version a binary reports, or undefined when it does not say. */
const versionOf = (binary: string): Promise<string | undefined> => readBinaryVersion(binary).catch(() => undefined);

export interface LabUpOptions {
  /** Absolute. */
  readonly dir: string;
  readonly shape: StarterShape;
  /** Absolute; the Kubernetes binaries (and newer etcd, containerd...). Without it the lab is etcd-only. */
  readonly binaries?: string;
  readonly yes: boolean;
}

export interface LabUp {
  readonly bridge: string;
  readonly subnet: string;
  readonly hosts: readonly LabHost[];
  /** Preflight checks Debian's binaries or the image cannot pass, with why: for deploy's --ignore-preflight-errors. */
  readonly ignores: readonly { readonly check: string; readonly why: string }[];
  /** Why deploy must accept NotReady Nodes (--allow-not-ready): a whole-cluster lab without the pause image. */
  readonly notReady?: string;
}

/** What keeps a whole-cluster lab's Nodes NotReady, as the real kubelet reports it (docs/dns.md). */
const LAB_NOT_READY = 'no pause image for containerd (no images/ in --binaries, no uplink to pull one): the Nodes stay NotReady without it';

/** Debian's etcd and containerd are older than kubeadm accepts, the image has no iptables, and no pause image unless given:
 * the checks deploy must be told to ignore. */
const deployIgnores = async (binariesDir: string, minor: KubernetesMinor, full: boolean): Promise<LabUp['ignores']> => {
  const etcd = await versionOf(join(binariesDir, 'etcd'));
  const containerd = full ? await versionOf(join(binariesDir, 'containerd')) : undefined;
  const etcdProblem = etcd ? etcdVerdict(etcd, minor) : undefined;
  const containerdProblem = containerd ? containerdVerdict(containerd, minor) : undefined;
  return [
    ...(etcdProblem?.severity === 'error' ? [{ check: 'etcd-version', why: etcdProblem.message }] : []),
    ...(containerdProblem?.severity === 'error' ? [{ check: 'containerd-version', why: containerdProblem.message }] : []),
    ...(full ? [{ check: 'node-commands', why: "the lab's image has no iptables, conntrack or socat (and its hosts no package source)" }] : []),
    ...(full && !existsSync(join(binariesDir, IMAGES_SUBDIR))
      ? [{ check: 'images', why: `no pause image: --binaries has no ${IMAGES_SUBDIR}/ folder, and the hosts have no uplink to pull one` }]
      : []),
  ];
};

export const labUp = async (o: LabUpOptions): Promise<LabUp> => {
  const full = o.binaries !== undefined;
  const hostCount = o.shape.masters + o.shape.nodes + o.shape.etcd;
  if (hostCount > MAX_LAB_HOSTS) throw new UsageError(`a lab has at most ${MAX_LAB_HOSTS} hosts, not ${hostCount}`);
  if (!full && o.shape.masters + o.shape.nodes > 0) {
    throw new UsageError('masters and nodes need the Kubernetes binaries: --binaries DIR (without it the lab is etcd-only: --etcd N)');
  }
  if (o.shape.masters === 0 && o.shape.nodes > 0) throw new UsageError('--nodes needs at least one master (--masters 1 or more)');
  assertDirFree(o.dir);
  const { facts, subnet } = await gatherFacts();
  const problems = labProblems(facts);
  if (problems.length) throw new UsageError(`lab up: this machine is not ready, nothing was made:\n  - ${problems.join('\n  - ')}`);

  const network = { name: labNetworkName(o.dir), subnet: subnet! };
  const bridge = bridgeName(network);
  const hosts = labHosts(o.shape, network);
  const given = givenBinaries(o.binaries);
  await ensureEtcd(given, o.yes);
  const machine = machineBinaries();
  const source = (name: string): string | undefined => given.get(name) ?? machine.get(name);
  const etcdVersion = await readBinaryVersion(source('etcd')!).catch((err: Error) => {
    throw new UsageError(err.message);
  });
  const kubernetesBinary = source('kube-apiserver');
  const kubernetesVersion = full && kubernetesBinary ? await versionOf(kubernetesBinary) : undefined;
  const inventoryPath = join(o.dir, LAB_FILES.inventory);
  const text = renderLabInventory({ dir: o.dir, bridge, subnet: network.subnet, hosts, etcdVersion, kubernetesVersion });
  const { model } = loadInventoryText(text, inventoryPath); // what we write must pass our own validation
  const plan = planBinaries(new Set(requiredBinaries(model.hosts).keys()), given, machine, o.binaries);
  if (plan.missing.length) throw new UsageError(`lab up: binaries missing, nothing was made:\n  - ${plan.missing.join('\n  - ')}`);

  // A whole cluster's kubelets run real containers (containerd and runc in the hosts).
  const tb = await startTestbed({ network, hosts: hosts.map((h) => ({ name: h.name, address: h.address })), persistent: true, containers: full });
  const existed = existsSync(o.dir);
  // The folder is emptied (or removed) on failure, and on an interrupt too: the test bed's exit hook then
  // tears the hosts down and exits, and this runs as the process exits.
  const removeFolder = (): void => {
    const paths = existed ? readdirSync(o.dir).map((f) => join(o.dir, f)) : [o.dir];
    for (const p of paths) rmSync(p, { recursive: true, force: true });
  };
  process.once('exit', removeFolder);
  try {
    await mkdir(o.dir, { recursive: true, mode: 0o755 });
    await copyFile(tb.privateKeyPath, join(o.dir, LAB_FILES.key));
    await chmod(join(o.dir, LAB_FILES.key), 0o600);
    const binariesDir = join(o.dir, LAB_FILES.binaries);
    await fillBinaries(binariesDir, plan.copies, o.binaries);
    await writeFile(inventoryPath, text, { mode: 0o644 });
    await mkdir(join(o.dir, LAB_FILES.cluster), { recursive: true });
    await writeFile(join(o.dir, LAB_FILES.cluster, 'known_hosts'), await tb.knownHosts(), { mode: 0o644 });
    const state: LabState = {
      network,
      bridge,
      hostsDir: tb.dir,
      image: imagePaths().base,
      hosts: hosts.map((h) => {
        const booted = tb.hosts.find((b) => b.name === h.name)!;
        return { ...h, root: booted.root, dir: join(tb.dir, h.name), nspawnPid: tb.nspawnPid(h.name), leaderPid: booted.leaderPid, containers: full };
      }),
    };
    await writeFile(statePath(o.dir), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o644 });
    // Run with sudo, the lab's files are the operator's (certs and deploy then run without root); the hosts stay root's.
    const [uid, gid] = [process.env.SUDO_UID, process.env.SUDO_GID];
    if (uid && gid && /^\d+$/.test(uid) && /^\d+$/.test(gid)) await run('chown', ['-R', `${uid}:${gid}`, o.dir]);
    const ignores = await deployIgnores(binariesDir, minorOf(model.kubernetesVersion) as KubernetesMinor, full);
    tb.detach();
    const noImages = full && !existsSync(join(binariesDir, IMAGES_SUBDIR));
    return { bridge, subnet: network.subnet, hosts, ignores, ...(noImages && { notReady: LAB_NOT_READY }) };
  } catch (err) {
    await tb.stop();
    removeFolder();
    throw err;
  } finally {
    process.off('exit', removeFolder);
  }
};

/** The host's systemd-nspawn is still the process of that pid (not a reused pid): it names the host's root. */
const nspawnRunning = (h: LabHostState): boolean => {
  try {
    return readFileSync(`/proc/${h.nspawnPid}/cmdline`, 'utf8').split('\0').includes(`--directory=${h.root}`);
  } catch {
    return false;
  }
};

export interface LabHostStatus extends LabHostState {
  readonly running: boolean;
}

export const labStatus = async (dir: string): Promise<{ state: LabState; hosts: LabHostStatus[] }> => {
  const state = await readLabState(dir);
  return { state, hosts: state.hosts.map((h) => ({ ...h, running: nspawnRunning(h) })) };
};

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const stopped = async (h: LabHostState, ms: number): Promise<boolean> => {
  for (const deadline = Date.now() + ms; Date.now() < deadline; await sleep(100)) if (!nspawnRunning(h)) return true;
  return !nspawnRunning(h);
};

const signal = (pid: number, sig: NodeJS.Signals): void => {
  try {
    process.kill(pid, sig);
  } catch {
    /* gone meanwhile */
  }
};

/** An orderly poweroff (SIGTERM to nspawn), after 10 s SIGKILL to the host's PID 1 (checked: its root is the host's) and nspawn. */
const stopHostByPid = async (h: LabHostState): Promise<void> => {
  if (!nspawnRunning(h)) return;
  signal(h.nspawnPid, 'SIGTERM');
  if (await stopped(h, 10_000)) return;
  const leaderRoot = (() => {
    try {
      return readlinkSync(`/proc/${h.leaderPid}/root`);
    } catch {
      return undefined;
    }
  })();
  if (leaderRoot === h.root) signal(h.leaderPid, 'SIGKILL');
  if (nspawnRunning(h)) signal(h.nspawnPid, 'SIGKILL');
  if (!(await stopped(h, 5_000))) throw new KubeinstallError(`host ${h.name} (systemd-nspawn pid ${h.nspawnPid}) did not stop`);
};

export interface LabDown {
  readonly bridge: string;
  readonly hosts: number;
  /** With --purge: the image removed, or why it was kept. */
  readonly image?: string;
}

/** Stops the hosts by pid; unmounts, removes their cgroups and folders, the bridge by its exact name and the lab's folder. */
export const labDown = async (dir: string, purge: boolean): Promise<LabDown> => {
  if (!isRoot()) throw new UsageError('lab down stops the hosts and removes their mounts and bridge: run it with sudo');
  const state = await readLabState(dir);
  await Promise.all(state.hosts.map(stopHostByPid));
  await Promise.all(state.hosts.map((h) => run('sh', cleanupArgs({ ...h, leaderPid: 0 }))));
  await removeBridge(state.network);
  await rm(state.hostsDir, { recursive: true, force: true });
  await rm(dir, { recursive: true, force: true });
  return { bridge: state.bridge, hosts: state.hosts.length, ...(purge && { image: await purgeImage(state.image) }) };
};

/** Removes the lab's host image from the cache, unless a host (another lab's, a test's) still has it as its lower layer. */
const purgeImage = async (base: string): Promise<string> => {
  const users = readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .filter((l) => l.includes(`lowerdir=${base},`) || l.includes(`lowerdir=${base} `));
  if (users.length)
    return `kept ${base}: ${users.length} host${users.length === 1 ? '' : 's'} of another lab or test bed use${users.length === 1 ? 's' : ''} it`;
  // Under the cache's lock, as builds are: never under a build extracting it.
  await run('flock', [join(dirname(base), '.lock'), 'rm', '-rf', base, `${base}.tar.zst`]);
  return `removed ${base} and ${base}.tar.zst`;
};

/** ssh's arguments for a shell (or a command) on a lab host: the lab's key, and only its known_hosts. */
export const labSshArgs = async (dir: string, host: string, command: readonly string[]): Promise<string[]> => {
  const state = await readLabState(dir);
  const h = state.hosts.find((x) => x.name === host);
  const names = state.hosts.map((x) => x.name);
  if (!h) throw new UsageError(`no host ${host} in the lab in ${dir}${didYouMean(host, names)}; its hosts: ${names.join(', ')}`);
  return [
    '-i',
    join(dir, LAB_FILES.key),
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    `UserKnownHostsFile=${join(dir, LAB_FILES.cluster, 'known_hosts')}`,
    '-o',
    'GlobalKnownHostsFile=/dev/null',
    '-o',
    'StrictHostKeyChecking=yes',
    `root@${h.address}`,
    ...command,
  ];
};
