// Which hosts `kubeinstall remove` took out of the cluster while they stay in the inventory, kept in the
// cluster folder: a later deploy that still lists them adds them back, and says so.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KubeinstallError, systemReason } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';

export const REMOVED_HOSTS_FILE = 'removed-hosts.json';

/** Host name -> when it was removed (ISO time). */
export type RemovedHosts = Readonly<Record<string, string>>;

const recordPath = (clusterDir: string): string => join(clusterDir, REMOVED_HOSTS_FILE);

export const readRemovedHosts = async (clusterDir: string): Promise<RemovedHosts> => {
  const path = recordPath(clusterDir);
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return '{}';
    throw new KubeinstallError(`cannot read ${path}: ${systemReason(err)}`);
  });
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed) && Object.values(parsed).every((v) => typeof v === 'string'))
      return parsed as RemovedHosts;
  } catch {
    // reported below
  }
  throw new KubeinstallError(`${path} is not a record of removed hosts (a JSON object of host name -> time); delete it`);
};

/** Records `add` as removed now and forgets `forget` (added back), in one atomic write. */
export const updateRemovedHosts = async (
  clusterDir: string,
  change: { readonly add?: readonly string[]; readonly forget?: readonly string[]; readonly at?: Date },
): Promise<void> => {
  const current = await readRemovedHosts(clusterDir);
  const at = (change.at ?? new Date()).toISOString();
  const next = Object.fromEntries([
    ...Object.entries(current).filter(([name]) => !change.forget?.includes(name) && !change.add?.includes(name)),
    ...(change.add ?? []).map((name) => [name, at]),
  ]);
  if (JSON.stringify(next) === JSON.stringify(current)) return;
  await writeFileAtomic(recordPath(clusterDir), `${JSON.stringify(next, null, 2)}\n`, { mode: 0o644 });
};
