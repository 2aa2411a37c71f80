// A lab's folder and its state file: what `lab up` made (bridge, host folders, process ids), read back by
// `lab status`, `lab down` and `lab ssh` in later processes.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Role } from '../inventory/model.js';
import { UsageError } from '../util/errors.js';
import type { TestbedNetwork } from './network.js';

/** The files of a lab's folder, as `lab up` writes them (the folder is the lab's: `lab down` removes it). */
export const LAB_FILES = {
  state: 'lab.json',
  inventory: 'inventory.yaml',
  key: 'id_ed25519',
  binaries: 'binaries',
  cluster: 'cluster',
} as const;
export const DEFAULT_LAB_DIR = './lab';

export interface LabHostState {
  readonly name: string;
  readonly address: string;
  readonly roles: readonly Role[];
  /** The overlay root, mounted from outside, and the host's folder (upper layer, console log). */
  readonly root: string;
  readonly dir: string;
  /** systemd-nspawn's pid (stopping it powers the host off) and the host's PID 1 as seen from outside. */
  readonly nspawnPid: number;
  readonly leaderPid: number;
  /** Booted to run real containers (a whole-cluster lab): its cgroups are in the controller hierarchies too. */
  readonly containers: boolean;
}

export interface LabState {
  readonly network: TestbedNetwork;
  readonly bridge: string;
  /** The test bed's folder holding the hosts' folders (under /var/tmp: overlays on the same disk as the cache). */
  readonly hostsDir: string;
  /** The extracted host image (the overlays' lower layer). */
  readonly image: string;
  readonly hosts: readonly LabHostState[];
}

export const statePath = (dir: string): string => join(dir, LAB_FILES.state);

export const readLabState = async (dir: string): Promise<LabState> => {
  let text: string;
  try {
    text = await readFile(statePath(dir), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new UsageError(`no lab in ${dir} (no ${LAB_FILES.state}); start one with: kubeinstall lab up --dir ${dir}`);
    throw err;
  }
  try {
    const state = JSON.parse(text) as LabState;
    if (!state.bridge || !state.network || !Array.isArray(state.hosts)) throw new Error('fields missing');
    return state;
  } catch (err) {
    throw new UsageError(`${statePath(dir)}: not a lab state file (${(err as Error).message})`);
  }
};
