import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { backupFileName, backupsToPrune, checkTrailingSha, parseMemberList } from './snapshot-file.js';

const dir = await mkdtemp(join(tmpdir(), 'kubeinstall-snapshot-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('backup names and --keep', () => {
  it('names sort by time and --keep removes the oldest of this cluster only', () => {
    const names = [
      backupFileName('prod', new Date('2026-12-01T06:15:02.123Z')),
      backupFileName('prod', new Date('2026-11-30T06:15:02Z')),
      backupFileName('prod', new Date('2026-12-02T00:00:00Z')),
      backupFileName('staging', new Date('2026-01-01T00:00:00Z')),
      'prod-etcd-20261201T061502Z.db.json',
      'notes.txt',
    ];
    expect(names[0]).toBe('prod-etcd-20261201T061502Z.db');
    expect(backupsToPrune(names, 'prod', 2)).toEqual(['prod-etcd-20261130T061502Z.db']);
    expect(backupsToPrune(names, 'prod', 5)).toEqual([]);
    expect(backupsToPrune(names, 'staging', 1)).toEqual([]);
  });
});

describe('parseMemberList', () => {
  it('reads etcdctl member list -w simple', () => {
    const out = [
      '8e9e05c52164694d, started, m1, https://198.18.1.1:2380, https://198.18.1.1:2379, false',
      '91bc3c398fb3c146, started, m2, https://198.18.1.2:2380, , false',
    ].join('\n');
    expect(parseMemberList(out)).toEqual([
      { id: '8e9e05c52164694d', name: 'm1', peerUrls: ['https://198.18.1.1:2380'], clientUrls: ['https://198.18.1.1:2379'] },
      { id: '91bc3c398fb3c146', name: 'm2', peerUrls: ['https://198.18.1.2:2380'], clientUrls: [] },
    ]);
  });
});

describe("etcd's trailing checksum", () => {
  const body = Buffer.alloc(1024, 7);
  const withSum = Buffer.concat([body, createHash('sha256').update(body).digest()]);

  it('ok for an intact snapshot, mismatch when one byte changed, none without a trailer', async () => {
    const path = join(dir, 'snap.db');
    await writeFile(path, withSum);
    expect(await checkTrailingSha(path, withSum.length)).toBe('ok');
    const changed = Buffer.from(withSum);
    changed[100]! ^= 1;
    await writeFile(path, changed);
    expect(await checkTrailingSha(path, changed.length)).toBe('mismatch');
    await writeFile(path, body);
    expect(await checkTrailingSha(path, body.length)).toBe('none');
  });
});
