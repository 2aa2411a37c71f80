// What a lab made outside its folder, each looked up by its exact name or pid: for the checks that lab down leaves none.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import type { LabState } from '../../../src/lab/state.js';

export const bridgeExists = (bridge: string): boolean => spawnSync('ip', ['link', 'show', 'dev', bridge]).status === 0;

/** The pid is still the host's nspawn (its command line names the host's root). */
const isNspawnOf = (pid: number, root: string): boolean => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(`--directory=${root}`);
  } catch {
    return false;
  }
};
/** The pid is still the host's PID 1 (its root is the host's). */
const isPid1Of = (pid: number, root: string): boolean => {
  try {
    return readlinkSync(`/proc/${pid}/root`) === root;
  } catch {
    return false;
  }
};

export const leftovers = (s: LabState): string[] => {
  const mounts = readFileSync('/proc/mounts', 'utf8');
  // Every hierarchy: a whole-cluster lab's hosts have cgroups in the controllers' too.
  const hierarchies = readdirSync('/sys/fs/cgroup');
  return [
    ...(bridgeExists(s.bridge) ? [`bridge ${s.bridge}`] : []),
    ...(existsSync(s.hostsDir) ? [`folder ${s.hostsDir}`] : []),
    ...s.hosts.flatMap((h) => [
      ...(mounts.includes(` ${h.root} `) ? [`mount ${h.root}`] : []),
      ...hierarchies.filter((hier) => existsSync(`/sys/fs/cgroup/${hier}/kubeinstall-testbed-${h.address}`)).map((hier) => `cgroup ${hier} of ${h.name}`),
      ...(isNspawnOf(h.nspawnPid, h.root) ? [`nspawn ${h.nspawnPid} of ${h.name}`] : []),
      ...(isPid1Of(h.leaderPid, h.root) ? [`PID 1 ${h.leaderPid} of ${h.name}`] : []),
    ]),
  ];
};
