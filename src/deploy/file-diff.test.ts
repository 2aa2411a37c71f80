import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { PlannedFile } from '../render/types.js';
import { changedFiles, parseRemoteHashes, remoteHashCommand, unitsRestartedBy } from './file-diff.js';

const planned = (path: string, text: string, restarts: string[]): PlannedFile => ({
  path, mode: 0o600, owner: 'root:root', size: text.length, restarts,
  sha256: createHash('sha256').update(text).digest('hex'),
  content: { kind: 'inline', data: Buffer.from(text) },
});

describe('file diff', () => {
  it('finds missing and different files with one real sha256sum, including awkward names', () => {
    const dir = mkdtempSync(join(tmpdir(), 'deploy-diff-'));
    try {
      const same = planned(join(dir, "it's same.conf"), 'a', ['etcd.service']);
      const other = planned(join(dir, 'other.conf'), 'b', ['kubelet.service']);
      const missing = planned(join(dir, 'missing.conf'), 'c', ['kubelet.service', 'kube-proxy.service']);
      writeFileSync(same.path, 'a');
      writeFileSync(other.path, 'B');
      const stdout = execFileSync('sh', ['-c', remoteHashCommand([same, other, missing])], { encoding: 'utf8' });
      const changed = changedFiles([same, other, missing], parseRemoteHashes(stdout));
      expect(changed.map((f) => f.path)).toEqual([other.path, missing.path]);
      expect(unitsRestartedBy(changed)).toEqual(['kube-proxy.service', 'kubelet.service']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
