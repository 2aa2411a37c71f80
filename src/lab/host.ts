// One test-bed host: an overlay root over the shared base, provisioned before its first boot, booted
// with systemd-nspawn (a real systemd and sshd on its own 127.x address, or in its own network namespace
// on the test bed's bridge), stopped by process id.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, openSync, closeSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, writeFile, chmod, symlink } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { run, type RunOptions, type RunResult } from './proc.js';
import { SUDO_USER } from './image.js';
import { bridgeName, hostAddressCommand, type TestbedNetwork } from './network.js';

export interface HostSpec {
  readonly name: string;
  readonly address: string;
}

export interface HostState extends HostSpec {
  /** The overlay root as seen from outside (its files can be read directly). */
  readonly root: string;
  readonly dir: string;
  /** Set when the host has its own network namespace on the test bed's bridge. */
  readonly network?: TestbedNetwork;
  /** Set when the host can run real containers (containerd + runc inside): see CONTAINERD_STATE. */
  readonly containers?: boolean;
  /** PID of the host's systemd (PID 1 inside); changes on every boot. */
  leaderPid: number;
  nspawn?: ChildProcess;
}

/** True on an ordinary systemd machine (sd_booted): there nspawn registers with machined. */
export const pid1IsSystemd = (): boolean => existsSync('/run/systemd/system');

const CGROUP_HIERARCHIES = ['systemd', 'unified'];
const cgroupName = (h: HostSpec): string => `kubeinstall-testbed-${h.address}`;

/**
 * Containers inside a host (containerd 1.6 + runc; shared testbed notes) need three things nspawn does not give by default:
 * keyctl (runc joins a session keyring; nspawn's seccomp filter blocks it), writable cgroup v1 controllers (nspawn mounts
 * them read-only: the host gets a cgroup of its own in every hierarchy, and a oneshot unit remounts them read-write at boot)
 * and a /var/lib/containerd that is not on the overlay root (overlayfs snapshots on overlayfs: "invalid argument").
 */
const CONTAINERD_STATE = '/var/lib/containerd';
const CGROUPS_RW_UNIT = 'testbed-cgroups-rw.service';
const CGROUPS_RW_SCRIPT = '/usr/local/sbin/testbed-cgroups-rw';
/** The read-only flag is the mount's own (a bind remount clears it); the hierarchies are shared with the machine. */
const cgroupsRwScript = (): string =>
  `#!/bin/sh\nset -e\nfor m in $(awk '$3 == "cgroup" && $4 ~ /^ro,/ { print $2 }' /proc/self/mounts); do mount -o remount,bind,rw "$m"; done\n`;
const cgroupsRwUnit = (): string =>
  [
    '[Unit]',
    'Description=Test bed: cgroup controllers writable for containers (nspawn mounts them read-only)',
    'DefaultDependencies=no',
    'After=local-fs.target',
    'Before=sysinit.target containerd.service',
    '',
    '[Service]',
    'Type=oneshot',
    'RemainAfterExit=yes',
    `ExecStart=${CGROUPS_RW_SCRIPT}`,
    '',
    '[Install]',
    'WantedBy=sysinit.target',
    '',
  ].join('\n');
/** Every cgroup v1 controller hierarchy of this machine besides the two every host gets a cgroup in. The host's cgroup has the
 * same path in each (its systemd puts its units at its own path of the systemd hierarchy in the controllers' too). */
const controllerHierarchies = (): string[] =>
  readdirSync('/sys/fs/cgroup').filter((d) => !CGROUP_HIERARCHIES.includes(d) && existsSync(`/sys/fs/cgroup/${d}/cgroup.procs`));
const hierarchiesOf = (h: HostState): string[] => (h.containers ? [...CGROUP_HIERARCHIES, ...controllerHierarchies()] : CGROUP_HIERARCHIES);

export const hostsFile = (hosts: readonly HostSpec[]): string =>
  `${['127.0.0.1 localhost', '::1 localhost ip6-localhost ip6-loopback', ...hosts.map((h) => `${h.address} ${h.name}`)].join('\n')}\n`;

/** With a shared network namespace sshd must listen on the host's own address only; in a host's own
 * namespace it listens on every address (the address is set after boot begins). */
export const sshdDropIn = (listenAddress: string | undefined): string =>
  [...(listenAddress ? [`ListenAddress ${listenAddress}:22`] : []), 'PermitRootLogin prohibit-password', 'PasswordAuthentication yes', 'UseDNS no'].join('\n') +
  '\n';

export const nspawnArgs = (h: HostState, registered: boolean): string[] => [
  '--quiet',
  `--directory=${h.root}`,
  '--boot',
  `--machine=ki-${h.address.replaceAll('.', '-')}`,
  `--hostname=${h.name}`,
  '--console=read-only',
  ...(h.network ? [`--network-bridge=${bridgeName(h.network)}`] : []),
  ...(h.containers ? ['--system-call-filter=@keyring', `--bind=${join(h.dir, 'containerd')}:${CONTAINERD_STATE}`] : []),
  ...(registered ? [] : ['--register=no', '--keep-unit']),
];

/** Checks nothing listens on the host's sshd address (including a wildcard listener on port 22), for hosts
 * that share this machine's loopback. (Hosts with networks of their own are not probed: before their
 * bridge exists a connection to their address would leave through the machine's default route.) */
export const assertAddressFree = async (address: string): Promise<void> => {
  if (!/^127\./.test(address)) throw new Error(`test-bed address ${address} is outside 127.0.0.0/8`);
  const listening = await new Promise<boolean>((resolve) => {
    const socket = connect({ host: address, port: 22, timeout: 1000 });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('timeout', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
  if (listening) throw new Error(`${address}:22 is already in use (a test bed left running? another test file using the same address?)`);
};

export const createHostRoot = async (spec: HostSpec, base: string, testbedDir: string, network?: TestbedNetwork, containers = false): Promise<HostState> => {
  const dir = join(testbedDir, spec.name);
  const root = join(dir, 'root');
  await Promise.all([...['upper', 'work', 'root'], ...(containers ? ['containerd'] : [])].map((d) => mkdir(join(dir, d), { recursive: true })));
  await run('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${base},upperdir=${dir}/upper,workdir=${dir}/work`, root]);
  return { ...spec, dir, root, network, containers, leaderPid: 0 };
};

/** Everything a host needs before its first boot: identity, addresses, sshd, keys, the sudo user. */
export const provisionHost = async (h: HostState, all: readonly HostSpec[], authorizedKey: string, sudoPassword: string): Promise<void> => {
  const at = (p: string): string => join(h.root, p);
  await writeFile(at('etc/hostname'), `${h.name}\n`);
  await writeFile(at('etc/hosts'), hostsFile(all));
  await writeFile(at('etc/machine-id'), `${randomBytes(16).toString('hex')}\n`);
  await writeFile(at('etc/ssh/sshd_config.d/10-testbed.conf'), sshdDropIn(h.network ? undefined : h.address));
  await run('ssh-keygen', ['-A', '-f', h.root]);
  for (const home of ['root', `home/${SUDO_USER}`]) {
    await mkdir(at(`${home}/.ssh`), { recursive: true, mode: 0o700 });
    await writeFile(at(`${home}/.ssh/authorized_keys`), authorizedKey, { mode: 0o600 });
  }
  await chmod(at('root/.ssh'), 0o700);
  if (h.containers) {
    await writeFile(at(CGROUPS_RW_SCRIPT.slice(1)), cgroupsRwScript(), { mode: 0o755 });
    await writeFile(at(`etc/systemd/system/${CGROUPS_RW_UNIT}`), cgroupsRwUnit());
    await mkdir(at('etc/systemd/system/sysinit.target.wants'), { recursive: true });
    await symlink(`/etc/systemd/system/${CGROUPS_RW_UNIT}`, at(`etc/systemd/system/sysinit.target.wants/${CGROUPS_RW_UNIT}`));
  }
  await run('chroot', [h.root, 'sh', '-c', `chown -R ${SUDO_USER}: /home/${SUDO_USER}/.ssh && chmod 700 /home/${SUDO_USER}/.ssh && chpasswd`], {
    input: `${SUDO_USER}:${sudoPassword}\n`,
  });
};

const childPids = (pid: number): number[] => {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((t) =>
      readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number),
    );
  } catch {
    return [];
  }
};

/** The host's PID 1: the descendant of nspawn that is init of a new PID namespace. */
const findLeader = (nspawnPid: number): number | undefined => {
  const queue = childPids(nspawnPid);
  while (queue.length) {
    const pid = queue.shift()!;
    try {
      const nspid =
        /^NSpid:\s*(.*)$/m
          .exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
          .trim()
          .split(/\s+/) ?? [];
      if (nspid.length > 1 && nspid.at(-1) === '1') return pid;
    } catch {
      continue;
    }
    queue.push(...childPids(pid));
  }
  return undefined;
};

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const until = async <T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined> | T | undefined): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(100);
  }
};

export const nsenterArgs = (leaderPid: number, command: string): string[] => [
  '-t',
  String(leaderPid),
  '-m',
  '-u',
  '-i',
  '-n',
  '-p',
  '--',
  '/bin/sh',
  '-c',
  command,
];

export const hostExec = (h: HostState, command: string, opts: RunOptions = {}): Promise<RunResult> => {
  if (!h.nspawn || h.nspawn.exitCode !== null) return Promise.reject(new Error(`test-bed host ${h.name} is not running`));
  return run('nsenter', nsenterArgs(h.leaderPid, command), opts);
};

const sshBanner = (address: string): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect({ host: address, port: 22, timeout: 1000 });
    socket.once('data', (d: Buffer) => (socket.destroy(), resolve(d.toString().startsWith('SSH-'))));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
    socket.once('error', () => resolve(false));
  });

export const waitForSsh = (h: HostSpec): Promise<true> =>
  until(`sshd on ${h.address}:22`, 30_000, async () => ((await sshBanner(h.address)) ? true : undefined));

/** Boots the host and waits until systemd reports running and sshd answers on its address. */
export const bootHost = async (h: HostState): Promise<void> => {
  const registered = pid1IsSystemd();
  // Where PID 1 is not systemd nothing gives each host its own cgroup, so the launcher moves itself
  // into one before it becomes nspawn; otherwise the hosts' systemds would share one subtree.
  const ownCgroup = registered
    ? ''
    : hierarchiesOf(h)
        .map((hier) => {
          const cg = `/sys/fs/cgroup/${hier}/${cgroupName(h)}`;
          // a new cpuset cgroup has no CPUs nor memory nodes (joining it fails) until given its parent's
          const cpuset = `for f in cpuset.cpus cpuset.mems; do [ ! -f ${cg}/$f ] || cat ${cg}/../$f > ${cg}/$f; done && `;
          return `mkdir -p ${cg} && ${cpuset}echo $$ > ${cg}/cgroup.procs && `;
        })
        .join('');
  const log = openSync(join(h.dir, 'console.log'), 'a');
  const child = spawn('sh', ['-c', `${ownCgroup}exec systemd-nspawn "$@"`, 'launch-host', ...nspawnArgs(h, registered)], {
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  h.nspawn = child;
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`host ${h.name} stopped while booting (exit ${code}); see ${join(h.dir, 'console.log')}`))),
  );
  exited.catch(() => {});
  const booted = (async () => {
    h.leaderPid = await until(`${h.name}'s systemd to start`, 20_000, () => findLeader(child.pid!));
    if (h.network) {
      const inNetns = (command: string, opts?: RunOptions) => run('nsenter', ['-t', String(h.leaderPid), '-n', '--', '/bin/sh', '-c', command], opts);
      // nspawn may still be moving host0 into the namespace when systemd already runs (seen once: "Cannot find device host0").
      await until(`${h.name}'s host0 interface`, 10_000, async () =>
        (await inNetns('ip link show dev host0', { allowFailure: true })).code === 0 ? true : undefined,
      );
      await inNetns(hostAddressCommand(h.address));
    }
    await until(`${h.name}'s systemd to finish booting`, 60_000, async () => {
      const r = await run('nsenter', nsenterArgs(h.leaderPid, 'systemctl is-system-running --wait'), { allowFailure: true, timeoutMs: 30_000 });
      return ['running', 'degraded'].includes(r.stdout.trim()) ? true : undefined;
    });
    await waitForSsh(h);
  })();
  await Promise.race([booted, exited]);
};

/** Orderly poweroff (SIGTERM to nspawn), escalated to SIGKILL; waits for nspawn to exit. */
export const shutdownHost = async (h: HostState, graceMs = 10_000): Promise<void> => {
  const child = h.nspawn;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => {
    if (h.leaderPid) process.kill(h.leaderPid, 'SIGKILL');
    child.kill('SIGKILL');
  }, graceMs);
  await gone;
  clearTimeout(timer);
};

/** Unmounts the overlay and removes the host's cgroups and folder. Shell, so the same script also runs
 * synchronously from an exit handler when the test process is being torn down. */
export const CLEANUP_SCRIPT = `
root=$1 dir=$2 cg=$3; shift 3
for i in $(seq 50); do mountpoint -q "$root" || break; umount "$root" 2>/dev/null || sleep 0.1; done
mountpoint -q "$root" && umount -l "$root"
for hier in "$@"; do
  # processes of a killed host (its containers too) may take a moment to leave their cgroups
  for i in $(seq 50); do
    [ -d "/sys/fs/cgroup/$hier/$cg" ] || break
    find "/sys/fs/cgroup/$hier/$cg" -depth -type d -exec rmdir {} + 2>/dev/null || sleep 0.1
  done
done
rm -rf "$dir"
`;

export const cleanupArgs = (h: HostState): string[] => ['-c', CLEANUP_SCRIPT, 'cleanup-host', h.root, h.dir, cgroupName(h), ...hierarchiesOf(h)];

export const removeHost = async (h: HostState): Promise<void> => {
  await shutdownHost(h);
  await run('sh', cleanupArgs(h));
};

/** Last-resort teardown when the process is exiting: kill by pid and clean up synchronously. */
export const removeHostNow = (h: HostState): void => {
  const child = h.nspawn;
  if (child && child.exitCode === null && child.signalCode === null) {
    // Killing the host's PID 1 ends every process in its PID namespace.
    if (h.leaderPid) {
      try {
        process.kill(h.leaderPid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    child.kill('SIGKILL');
  }
  spawnSync('sh', cleanupArgs(h), { stdio: 'ignore', timeout: 15_000 });
};
