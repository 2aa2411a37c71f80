// What `lab up` needs of this machine, checked before it makes anything: one message per missing thing,
// saying what to install or do. Pure: the facts are read by the caller. (Building the image needs
// debootstrap and zstd, extracting it zstd: only checked when the cache lacks it.)
import { CGROUP_HIERARCHIES } from './host.js';

export interface LabFacts {
  readonly root: boolean;
  /** The commands found on PATH. */
  readonly commands: ReadonlySet<string>;
  /** What the image cache holds for the lab's image. */
  readonly image: 'extracted' | 'tarball' | undefined;
  readonly cacheDir: string;
  /** PID 1 is systemd: nspawn registers with machined; otherwise each host needs cgroups of its own. */
  readonly pid1Systemd: boolean;
  /** The cgroup hierarchies mounted under /sys/fs/cgroup. */
  readonly cgroupHierarchies: ReadonlySet<string>;
  readonly range: string;
  /** This machine's addresses and routes could be read (not without `ip`, which is reported instead). */
  readonly networksRead: boolean;
  readonly freeSubnet: string | undefined;
}

/** Commands the lab always runs, with the Debian package that has each. */
export const LAB_COMMANDS: readonly { readonly command: string; readonly apt: string }[] = [
  { command: 'systemd-nspawn', apt: 'systemd-container' },
  { command: 'ip', apt: 'iproute2' },
  { command: 'nsenter', apt: 'util-linux' },
  { command: 'flock', apt: 'util-linux' },
  { command: 'mount', apt: 'mount' },
  { command: 'chroot', apt: 'coreutils' },
  { command: 'ssh-keygen', apt: 'openssh-client' },
];

const missing = (f: LabFacts, command: string, apt: string, why = ''): string[] =>
  f.commands.has(command) ? [] : [`${command} not found${why}: apt-get install ${apt}`];

export const labProblems = (f: LabFacts): string[] => [
  ...(f.root ? [] : ['not root: lab up mounts overlays, makes a bridge and boots hosts; run it with sudo']),
  ...LAB_COMMANDS.flatMap((c) => missing(f, c.command, c.apt)),
  ...(f.image === 'extracted'
    ? []
    : f.image === 'tarball'
      ? missing(f, 'zstd', 'zstd', ` (the host image in ${f.cacheDir} is compressed with it)`)
      : [
          ...(f.commands.has('debootstrap')
            ? []
            : [
                `no host image in ${f.cacheDir} and no debootstrap to build one: apt-get install debootstrap ` +
                  '(or point KUBEINSTALL_TESTBED_CACHE at a cache that has one)',
              ]),
          ...missing(f, 'zstd', 'zstd', ' (the host image is cached compressed with it)'),
        ]),
  ...(f.pid1Systemd
    ? []
    : CGROUP_HIERARCHIES.filter((h) => !f.cgroupHierarchies.has(h)).map(
        (h) => `cgroups: /sys/fs/cgroup/${h} is not mounted; where PID 1 is not systemd every host gets a cgroup of its own there (hybrid cgroups)`,
      )),
  ...(f.freeSubnet || !f.networksRead
    ? []
    : [`no free /24 in the lab range ${f.range}: each is on an interface or route of this machine (kubeinstall lab down a lab you no longer need)`]),
];
