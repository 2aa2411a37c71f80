import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Host } from '../inventory/model.js';
import { requiredBinaries } from './binaries.js';
import { binaryHashCache, indexBinaries } from './load.js';

const etcdHost = { roles: ['etcd'] } as unknown as Host;
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

describe('indexBinaries with a hash cache', () => {
  let dir: string;
  let cache: string;
  const names = [...requiredBinaries([etcdHost]).keys()];
  const index = () => indexBinaries(join(dir, 'bin'), [etcdHost], cache);
  const etcdPath = () => join(dir, 'bin', names[0]!);

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kubeinstall-load-'));
    cache = binaryHashCache(join(dir, 'cluster'));
    await mkdir(join(dir, 'bin'));
    for (const n of names) await writeFile(join(dir, 'bin', n), `binary ${n}`);
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('hashes every binary and remembers the hashes in the cluster folder', async () => {
    const binaries = await index();
    for (const n of names) expect(binaries.get(n)?.sha256).toBe(sha256(`binary ${n}`));
    expect(Object.keys(JSON.parse(await readFile(cache, 'utf8'))).sort()).toEqual(names.map((n) => join(dir, 'bin', n)).sort());
  });

  it('takes an unchanged binary from the cache without reading it', async () => {
    await index();
    // a recorded hash that is not the file's: only a cache hit can return it
    const recorded = JSON.parse(await readFile(cache, 'utf8'));
    recorded[etcdPath()].sha256 = 'f'.repeat(64);
    await writeFile(cache, JSON.stringify(recorded));
    expect((await index()).get(names[0]!)?.sha256).toBe('f'.repeat(64));
  });

  it('hashes again a binary rewritten with the same size and its old mtime', async () => {
    const mtime = 1_700_000_000; // whole seconds, so utimes can put back exactly the same mtime
    await utimes(etcdPath(), mtime, mtime);
    await index();
    await writeFile(etcdPath(), `BINARY ${names[0]}`);
    await utimes(etcdPath(), mtime, mtime);
    expect((await index()).get(names[0]!)?.sha256).toBe(sha256(`BINARY ${names[0]}`));
  });

  it('treats an unreadable cache as empty and replaces it', async () => {
    await index();
    await writeFile(cache, '{not json');
    expect((await index()).get(names[0]!)?.sha256).toBe(sha256(`binary ${names[0]}`));
    expect(JSON.parse(await readFile(cache, 'utf8'))[etcdPath()].sha256).toBe(sha256(`binary ${names[0]}`));
  });
});
