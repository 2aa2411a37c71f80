// The deploy log on a disk that fills up during the run: a real full file system (a 4 KiB tmpfs,
// mounted by the test: needs root), not a simulated error.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openCommandLog } from '../../../src/deploy/command-log.js';

const clusterDir = mkdtempSync(join(tmpdir(), 'kubeinstall-command-log-'));
const logs = join(clusterDir, 'logs');
mkdirSync(logs);
execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4k,mode=0700', 'tmpfs', logs]);
afterAll(() => {
  execFileSync('umount', [logs]);
  rmSync(clusterDir, { recursive: true, force: true });
});

describe('the deploy log', () => {
  it('keeps a write failure during the run and reports it on close, naming the file', async () => {
    const log = await openCommandLog(clusterDir, new Date());
    for (let i = 0; i < 100; i++) log.write({ host: 'm1', step: 'etcd', command: `echo ${'x'.repeat(200)}`, code: 0, durationMs: 1 });
    const failure = await log.close();
    expect(failure?.message).toBe(`cannot write the deploy log ${log.path}: ENOSPC (no space left on device)`);
  });
});
