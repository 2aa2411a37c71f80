import { spawnSync } from 'node:child_process';
import { isAbsolute, join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { labDown, labSshArgs, labStatus, labUp } from '../../lab/lab.js';
import { LAB_RANGE, LAB_RANGE_ENV } from '../../lab/layout.js';
import { DEFAULT_LAB_DIR, LAB_FILES } from '../../lab/state.js';
import { KubeinstallError } from '../../util/errors.js';
import { quote } from '../../util/shell.js';
import { wholeNumber } from '../options.js';
import { examples } from '../output.js';

const dirOption = ['--dir <dir>', "the lab's folder (its inventory, key, binaries and state)", DEFAULT_LAB_DIR] as const;

/** A path as the operator would type it from here: relative below the working folder, else absolute; quoted for a shell. */
const shown = (path: string): string => {
  const rel = relative(process.cwd(), path);
  return quote(rel === '' ? '.' : rel.startsWith('..') || isAbsolute(rel) ? path : rel);
};

interface UpFlags {
  dir: string;
  masters?: number;
  nodes?: number;
  etcd?: number;
  binaries?: string;
  yes?: boolean;
}

export const registerLab = (program: Command): void => {
  const lab = program.command('lab').description('real hosts on this machine (systemd-nspawn) to run the whole install on, before real machines');
  lab
    .command('up')
    .description('check this machine, boot the lab hosts on a bridge of their own and write DIR/inventory.yaml and DIR/binaries/ (root)')
    .option(...dirOption)
    .option('--etcd <n>', 'dedicated etcd hosts (default: 3 without --binaries, 0 with: etcd on the masters)', wholeNumber())
    .option('--masters <n>', 'masters (needs --binaries; default with it: 1)', wholeNumber())
    .option('--nodes <n>', 'worker nodes (needs --binaries; default with it: 1)', wholeNumber())
    .option('--binaries <dir>', 'a folder with the Kubernetes binaries (as `kubeinstall binaries fetch` fills it); without it the lab is etcd-only')
    .option('--yes', "install Debian's etcd-server and etcd-client without asking, when this machine has no etcd")
    .addHelpText(
      'after',
      `\nThe hosts get a free /24 of ${LAB_RANGE} (${LAB_RANGE_ENV} overrides it), reach nothing but this machine, and keep\n` +
        'running after this command: `kubeinstall lab down` stops them. etcd, etcdctl, containerd, runc, ctr and the CNI\n' +
        "plugins come from this machine's Debian packages; the host image is built once (debootstrap) and cached.\n" +
        examples(
          'sudo kubeinstall lab up',
          'kubeinstall certs -i lab/inventory.yaml && kubeinstall deploy -i lab/inventory.yaml --ignore-preflight-errors=etcd-version',
          'sudo kubeinstall lab up --dir lab2 --binaries ./k8s-binaries --masters 3 --nodes 2',
        ),
    )
    .action(async (flags: UpFlags) => {
      const full = flags.binaries !== undefined;
      const dir = resolve(flags.dir);
      const shape = { masters: flags.masters ?? (full ? 1 : 0), nodes: flags.nodes ?? (full ? 1 : 0), etcd: flags.etcd ?? (full ? 0 : 3) };
      const up = await labUp({ dir, shape, binaries: flags.binaries === undefined ? undefined : resolve(flags.binaries), yes: flags.yes === true });
      const inventory = shown(join(dir, LAB_FILES.inventory));
      const deployFlags = [
        ...(up.ignores.length ? [`--ignore-preflight-errors=${up.ignores.map((i) => i.check).join(',')}`] : []),
        ...(up.notReady ? ['--allow-not-ready'] : []),
      ];
      process.stdout.write(
        [
          `lab up: ${up.hosts.length} hosts running on bridge ${up.bridge} (${up.subnet}), in ${shown(dir)}`,
          ...up.hosts.map((h) => `  ${h.name.padEnd(10)} ${h.address.padEnd(15)} ${h.roles.join(',')}`),
          'next:',
          `  kubeinstall certs -i ${inventory}`,
          `  kubeinstall deploy -i ${[inventory, ...deployFlags].join(' ')}`,
          ...up.ignores.map((i) => `    (${i.check}: ${i.why})`),
          ...(up.notReady ? [`    (--allow-not-ready: ${up.notReady})`] : []),
          `  kubeinstall lab ssh ${up.hosts[0]!.name} --dir ${shown(dir)}`,
          `  sudo kubeinstall lab down --dir ${shown(dir)}`,
          '',
        ].join('\n'),
      );
    });
  lab
    .command('status')
    .description("the lab's hosts: state, address, roles")
    .option(...dirOption)
    .action(async (flags: { dir: string }) => {
      const { state, hosts } = await labStatus(resolve(flags.dir));
      process.stdout.write(
        [
          `lab in ${shown(resolve(flags.dir))}: bridge ${state.bridge} (${state.network.subnet})`,
          ...hosts.map((h) => `  ${h.name.padEnd(10)} ${h.address.padEnd(15)} ${(h.running ? 'running' : 'stopped').padEnd(8)} ${h.roles.join(',')}`),
          '',
        ].join('\n'),
      );
    });
  lab
    .command('down')
    .description("stop the lab's hosts and remove what lab up made: mounts, cgroups, bridge and the lab's folder (root)")
    .option(...dirOption)
    .option('--purge', "also remove the host image from the cache (kept while another lab's or a test's hosts use it)")
    .action(async (flags: { dir: string; purge?: boolean }) => {
      const down = await labDown(resolve(flags.dir), flags.purge === true);
      process.stdout.write(
        `lab down: ${down.hosts} hosts stopped, bridge ${down.bridge} and ${shown(resolve(flags.dir))} removed${down.image ? `; ${down.image}` : ''}\n`,
      );
    });
  lab
    .command('ssh')
    .description('a shell (or COMMAND) on a lab host, as root, with the lab key and its pinned host keys')
    .argument('<host>', 'a host of the lab (etcd-1, master-1...)')
    .argument('[command...]', 'run this instead of a shell')
    .option(...dirOption)
    .addHelpText('after', examples('kubeinstall lab ssh etcd-1', 'kubeinstall lab ssh etcd-1 -- systemctl status etcd'))
    .action(async (host: string, command: string[], flags: { dir: string }) => {
      // The command's words go to the host's shell as ssh passes them: `lab ssh etcd-1 -- 'systemctl is-active etcd && hostname'`.
      const args = await labSshArgs(resolve(flags.dir), host, command);
      const r = spawnSync('ssh', args, { stdio: 'inherit' });
      if (r.error) throw new KubeinstallError(`ssh: ${r.error.message}`);
      if (r.status !== 0) throw new KubeinstallError(`ssh to ${host} exited with ${r.status ?? r.signal}`, r.status ?? 1);
    });
};
