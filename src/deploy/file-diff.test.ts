import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PlannedFile } from '../render/types.js';
import {
  changedFiles,
  parseRemoteHashes,
  parseStatOutput,
  recordHashesCommand,
  recordInput,
  remoteHashCommand,
  statCommand,
  unitsRestartedBy,
} from './file-diff.js';

const planned = (path: string, text: string, restarts: string[]): PlannedFile => ({
  path,
  mode: 0o600,
  owner: 'root:root',
  size: text.length,
  restarts,
  sha256: createHash('sha256').update(text).digest('hex'),
  content: { kind: 'inline', data: Buffer.from(text) },
});
const sh = (script: string, input?: string): string => execFileSync('sh', ['-c', script], { encoding: 'utf8', input });

describe('file diff', () => {
  let dir: string;
  beforeEach(() => void (dir = mkdtempSync(join(tmpdir(), 'deploy-diff-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('finds missing and different files with one real sha256sum, including awkward names', () => {
    const same = planned(join(dir, "it's same.conf"), 'a', ['etcd.service']);
    const other = planned(join(dir, 'other.conf'), 'b', ['kubelet.service']);
    const missing = planned(join(dir, 'missing.conf'), 'c', ['kubelet.service', 'kube-proxy.service']);
    writeFileSync(same.path, 'a');
    writeFileSync(other.path, 'B');
    const remote = parseRemoteHashes(sh(remoteHashCommand([same, other, missing].map((f) => f.path))));
    const changed = changedFiles([same, other, missing], remote);
    expect(changed.map((f) => f.path)).toEqual([other.path, missing.path]);
    expect(unitsRestartedBy(changed)).toEqual(['kube-proxy.service', 'kubelet.service']);
  });

  it('trusts the hash record only for files whose size and mtime are unchanged', () => {
    const record = join(dir, 'state/file-hashes');
    const files = ['a b.conf', 'b.conf', 'c.conf'].map((name) => planned(join(dir, name), name, []));
    for (const f of files) writeFileSync(f.path, f.path.slice(dir.length + 1));
    expect(parseStatOutput(sh(statCommand(files, record))).unknown).toEqual(files.map((f) => f.path)); // no record yet
    sh(recordHashesCommand(files, record), recordInput(files));
    const fresh = parseStatOutput(sh(statCommand(files, record)));
    expect([fresh.unknown, [...fresh.known.values()]]).toEqual([[], files.map((f) => f.sha256)]);
    writeFileSync(files[1]!.path, 'B.conf'); // same size, new bytes: the mtime gives it away
    utimesSync(files[1]!.path, new Date(), new Date(Date.now() + 5000));
    const later = parseStatOutput(sh(statCommand([...files, planned(join(dir, 'gone.conf'), 'x', [])], record)));
    expect([later.unknown, [...later.known.keys()]]).toEqual([[files[1]!.path], [files[0]!.path, files[2]!.path]]);
    // a planned file gone before the record is written: the command fails and the record stays as it was
    const before = readFileSync(record, 'utf8');
    rmSync(files[1]!.path);
    expect(() => sh(recordHashesCommand(files, record), recordInput(files))).toThrow();
    expect(readFileSync(record, 'utf8')).toBe(before);
  });
});
