// End to end on the test bed (198.18.50.0/24): 3 real etcd 3.4 members and one master with the
// kube-apiserver stand-in. `etcd backup` of 1,000 keys, then other writes, then `etcd restore`: exactly
// the 1,000 keys are back on every member, the API server was stopped during the restore and is healthy
// after, and a deploy re-run changes nothing. Bad input is refused before anything stops.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeinstall, startKubeinstall } from '../kubeinstall.js';
import { run, startSetting, type BedHost, type Setting } from '../deploy/fixtures.js';

const MEMBERS: BedHost[] = [1, 2, 3].map((n) => ({ name: `etcd-${n}`, address: `198.18.50.${10 + n}`, roles: ['etcd'] }));
const MASTER: BedHost = { name: 'm1', address: '198.18.50.21', roles: ['master'] };
const endpointOf = (h: BedHost): string => `https://${h.address}:2379`;
const ENDPOINTS = MEMBERS.map(endpointOf);
const KEYS = 1000;
let s: Setting;
let backup: string;

/** etcdctl from here with its stdin (a txn). */
const etcdctlIn = (input: string, ...args: string[]): Promise<string> =>
  new Promise((resolve, reject) => {
    const pki = join(s.clusterDir, 'pki/etcd');
    const child = spawn(
      'etcdctl',
      [`--endpoints=${ENDPOINTS[0]}`, `--cacert=${pki}/ca.crt`, `--cert=${pki}/healthcheck-client.crt`, `--key=${pki}/healthcheck-client.key`, ...args],
      { env: { ...process.env, ETCDCTL_API: '3' } },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (err += d));
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`etcdctl ${args.join(' ')}: ${err}`))));
    child.stdin.end(input);
  });

/** Puts `prefix0000`... in transactions of 100 (etcd allows 128 operations a transaction). */
const putKeys = async (prefix: string, count: number): Promise<void> => {
  for (let start = 0; start < count; start += 100) {
    const puts = Array.from({ length: Math.min(100, count - start) }, (_, i) => `put ${prefix}${String(start + i).padStart(4, '0')} v${start + i}`);
    await etcdctlIn(`\n${puts.join('\n')}\n\n\n`, 'txn');
  }
};

/** The keys under `prefix` as one member alone sees them (a serializable read answers from its own data). */
const keysOn = async (member: BedHost, prefix: string): Promise<string[]> =>
  (await s.etcdctl([endpointOf(member)], 'get', '--prefix', '--keys-only', '--consistency=s', prefix)).split('\n').filter(Boolean);

const expectedKeys = Array.from({ length: KEYS }, (_, i) => `/e2e/k${String(i).padStart(4, '0')}`);

const isActive = async (host: string, unit: string): Promise<string> => (await s.tb.hostExec(host, `systemctl is-active ${unit} || true`)).stdout.trim();

const expectUntouched = async (): Promise<void> => {
  for (const m of MEMBERS) expect(await isActive(m.name, 'etcd.service'), m.name).toBe('active');
  expect(await isActive(MASTER.name, 'kube-apiserver.service')).toBe('active');
  for (const m of MEMBERS) expect((await s.tb.hostExec(m.name, 'ls -A /var/lib/kubeinstall')).stdout, m.name).not.toMatch(/etcd-restore/);
};

const sha256 = async (path: string): Promise<string> =>
  createHash('sha256')
    .update(await readFile(path))
    .digest('hex');

beforeAll(async () => {
  s = await startSetting({ name: 'etcdbak', subnet: '198.18.50.0/24' }, [...MEMBERS, MASTER]);
  await s.deploy();
});
afterAll(async () => {
  await s?.stop();
});

describe('etcd backup and restore', () => {
  it('backs up 1,000 keys; after other writes, restore brings back exactly those on every member, the API server stopped meanwhile', async () => {
    await putKeys('/e2e/k', KEYS);
    const b = kubeinstall(['etcd', 'backup', '-i', s.inventory, '--keep', '2']);
    expect(b, b.err).toMatchObject({ code: 0 });
    backup = /^backup: (\S+) /m.exec(b.out)![1]!;
    expect(backup.startsWith(join(s.clusterDir, 'backups', 'e2e-etcd-'))).toBe(true);
    expect((await stat(backup)).mode & 0o777).toBe(0o600);
    expect((await stat(`${backup}.json`)).mode & 0o777).toBe(0o600);
    expect((await stat(join(s.clusterDir, 'backups'))).mode & 0o777).toBe(0o700);
    const sidecar = JSON.parse(await readFile(`${backup}.json`, 'utf8'));
    expect(sidecar).toMatchObject({ cluster: 'e2e', sha256: await sha256(backup), takenFrom: expect.stringMatching(/^etcd-\d$/) });
    expect(sidecar.members.map((m: { name: string }) => m.name).sort()).toEqual(MEMBERS.map((m) => m.name));
    expect(sidecar.totalKeys).toBeGreaterThanOrEqual(KEYS);
    for (const m of MEMBERS) expect((await s.tb.hostExec(m.name, 'ls -A /var/lib/kubeinstall/etcd-backup 2>/dev/null || true')).stdout, m.name).toBe('');

    await s.etcdctl([ENDPOINTS[0]!], 'del', '--prefix', '/e2e/');
    await putKeys('/other/k', 10);

    const restore = startKubeinstall(['etcd', 'restore', '-i', s.inventory, backup, '--yes']);
    let apiServerStopped = false;
    const watch = (async () => {
      while (restore.child.exitCode === null && !apiServerStopped) {
        apiServerStopped = (await isActive(MASTER.name, 'kube-apiserver.service')) !== 'active';
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const r = await restore.done;
    await watch;
    expect(r, r.err).toMatchObject({ code: 0 });
    expect(apiServerStopped, 'kube-apiserver was seen stopped during the restore').toBe(true);
    expect(r.out).toMatch(new RegExp(`^restored revision ${sidecar.revision} on etcd-1, etcd-2, etcd-3`, 'm'));
    for (const m of MEMBERS) {
      expect(await keysOn(m, '/e2e/'), m.name).toEqual(expectedKeys);
      expect(await keysOn(m, '/other/'), m.name).toEqual([]);
      const aside = new RegExp(`^old data dir: ${m.name}: (\\S+)$`, 'm').exec(r.out)![1]!;
      expect((await s.tb.hostExec(m.name, `ls ${aside}`)).stdout.trim(), m.name).toBe('member');
    }
    expect(await isActive(MASTER.name, 'kube-apiserver.service')).toBe('active');
    expect((await run('kubectl', ['--kubeconfig', join(s.clusterDir, 'kubeconfigs/admin.conf'), 'get', '--raw', '/readyz'])).stdout.trim()).toBe('ok');

    const again = await s.deploy();
    expect(again.summary.filesUploaded).toBe(0);
    expect(again.summary.servicesRestarted).toBe(0);
    for (const m of MEMBERS) expect(await keysOn(m, '/e2e/'), m.name).toHaveLength(KEYS);
  });

  it('Ctrl-C half-way leaves the old data dirs where the output said; a re-run finishes the restore', async () => {
    await putKeys('/later/k', 5);
    const restore = startKubeinstall(['etcd', 'restore', '-i', s.inventory, backup, '--yes']);
    while ((await isActive('etcd-1', 'etcd.service')) === 'active' && restore.child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
    restore.child.kill('SIGINT');
    const r = await restore.done;
    expect(r.code, r.err).toBe(130);
    expect(r.err).toMatch(/the restore is unfinished: .*re-run the same `kubeinstall etcd restore`/);
    const asides = new Map([...r.err.matchAll(/(etcd-\d): (\/var\/lib\/etcd\.before-restore-\S+?)[,)]/g)].map((m) => [m[1]!, m[2]!]));
    expect([...asides.keys()].sort()).toEqual(MEMBERS.map((m) => m.name));
    for (const m of MEMBERS) {
      // The old data is aside already, or still in place: never gone.
      const { stdout } = await s.tb.hostExec(m.name, `ls -d ${asides.get(m.name)} /var/lib/etcd 2>/dev/null || true`);
      expect(stdout.trim(), m.name).not.toBe('');
    }
    // Until it is finished, deploy refuses: it would start members that are not restored yet.
    await expect(s.deploy()).rejects.toThrow(/\[etcd-restore\] an etcd restore is unfinished here \(the old data dir: \/var\/lib\/etcd\.before-restore-/);
    const rerun = kubeinstall(['etcd', 'restore', '-i', s.inventory, backup, '--yes']);
    expect(rerun, rerun.err).toMatchObject({ code: 0 });
    expect(rerun.out).toMatch(/finishing the restore an earlier run started/);
    for (const m of MEMBERS) {
      expect(await keysOn(m, '/e2e/'), m.name).toEqual(expectedKeys);
      expect(await keysOn(m, '/later/'), m.name).toEqual([]);
      expect(rerun.out).toContain(`old data dir: ${m.name}: ${asides.get(m.name)}`);
    }
    await expectUntouched();
  });

  it('refuses a snapshot with one byte changed, a file that is not a snapshot, and a restore without --yes off a terminal, before anything stops', async () => {
    const corrupt = join(s.dir, 'corrupt.db');
    await copyFile(backup, corrupt);
    await copyFile(`${backup}.json`, `${corrupt}.json`);
    const bytes = await readFile(corrupt);
    bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
    await writeFile(corrupt, bytes);
    const withSidecar = kubeinstall(['etcd', 'restore', '-i', s.inventory, corrupt, '--yes']);
    expect(withSidecar).toMatchObject({
      code: 2,
      err: expect.stringMatching(/corrupt\.db: sha256 [0-9a-f]{64} differs from the [0-9a-f]{64} recorded in corrupt\.db\.json/),
    });
    await rm(`${corrupt}.json`);
    const alone = kubeinstall(['etcd', 'restore', '-i', s.inventory, corrupt, '--yes']);
    expect(alone).toMatchObject({ code: 2, err: expect.stringMatching(/corrupt\.db: etcd's checksum at the end of the snapshot does not match/) });

    const text = join(s.dir, 'notes.txt');
    await writeFile(text, 'not a snapshot\n');
    const notSnapshot = kubeinstall(['etcd', 'restore', '-i', s.inventory, text, '--yes']);
    expect(notSnapshot).toMatchObject({
      code: 2,
      err: expect.stringMatching(/notes\.txt is not an etcd snapshot: etcdctl snapshot status: .*invalid database/),
    });

    const noYes = kubeinstall(['etcd', 'restore', '-i', s.inventory, backup]);
    expect(noYes).toMatchObject({
      code: 2,
      err: expect.stringMatching(/kubeinstall etcd restore would:\n {2}- stop kube-apiserver\.service on m1[\s\S]*only with --yes/),
    });
    await expectUntouched();
  });

  it('backup with every member down: a clear error naming each, and nothing written', async () => {
    const before = await readdir(join(s.clusterDir, 'backups'));
    await Promise.all(MEMBERS.map((m) => s.tb.hostExec(m.name, 'systemctl stop etcd.service')));
    try {
      const b = kubeinstall(['etcd', 'backup', '-i', s.inventory]);
      expect(b.code).toBe(1);
      expect(b.err).toMatch(/no healthy etcd member to take a snapshot from; nothing was written:\n {2}etcd-1: .*\n {2}etcd-2: .*\n {2}etcd-3: /);
      expect(await readdir(join(s.clusterDir, 'backups'))).toEqual(before);
    } finally {
      await Promise.all(MEMBERS.map((m) => s.tb.hostExec(m.name, 'systemctl start etcd.service')));
    }
  });
});
