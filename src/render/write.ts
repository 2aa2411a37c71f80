// `plan --write DIR`: each host's files under DIR/hosts/<name>/<path on the host>, with their planned
// modes, and the manifests under DIR/manifests/. Binaries become symlinks to the local file, so the
// tree shows where each one goes without copying hundreds of megabytes per host.
import { mkdir, rm, symlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../util/fs.js';
import type { ClusterPlan } from './types.js';

export const writePlanTree = async (plan: ClusterPlan, dir: string): Promise<number> => {
  let written = 0;
  for (const h of plan.hosts) {
    const root = join(dir, 'hosts', h.host.name);
    for (const f of h.files) {
      const target = join(root, f.path);
      if (f.content.kind === 'inline') {
        await writeFileAtomic(target, f.content.data, { mode: f.mode });
      } else {
        await mkdir(dirname(target), { recursive: true });
        await rm(target, { force: true });
        await symlink(f.content.localPath, target);
      }
      written++;
    }
  }
  for (const m of plan.manifests) {
    await writeFileAtomic(join(dir, 'manifests', m.name), m.yaml, { mode: 0o644 });
    written++;
  }
  return written;
};
