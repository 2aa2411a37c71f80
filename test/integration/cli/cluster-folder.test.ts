// What the commands that change the cluster folder do when it cannot be used: a deploy log that cannot
// be written, and a folder another run holds (two real runs at once, a stale lock, signals). Every case
// ends before any host is contacted, so the inventory's hosts (127.0.8.x) need not exist.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_BINARIES } from '../../../src/render/test-fixtures.js';
import { LOCK_FILE } from '../../../src/util/cluster-lock.js';
import { kubeinstall, startKubeinstall } from '../kubeinstall.js';

const root = mkdtempSync(join(tmpdir(), 'kubeinstall-cluster-folder-'));
const inventory = join(root, 'inventory.yaml');
const clusterDir = join(root, 'folder'); // the default: named after the cluster, next to the inventory
afterAll(() => rmSync(root, { recursive: true, force: true }));

beforeAll(() => {
  mkdirSync(join(root, 'binaries'));
  for (const b of ALL_BINARIES) {
    writeFileSync(join(root, 'binaries', b), `#!/bin/sh\n# stand-in ${b}\n`);
    chmodSync(join(root, 'binaries', b), 0o755);
  }
  writeFileSync(
    inventory,
    [
      'cluster: { name: folder, keyAlgorithm: ecdsa-p256 }',
      'ssh: { user: root, hostKeyPolicy: accept-new, connectTimeoutSeconds: 1 }',
      'hosts:',
      '  - { name: m1, address: 127.0.8.1, roles: [etcd, master, node] }',
      '',
    ].join('\n'),
  );
  const certs = kubeinstall(['certs', '-i', inventory]);
  expect(certs.code, certs.err).toBe(0);
});

describe('the deploy log', () => {
  it('that cannot be written stops deploy before it connects, naming the file, in one line', () => {
    const logs = join(clusterDir, 'logs');
    rmSync(logs, { recursive: true, force: true });
    writeFileSync(logs, 'not a folder\n');
    try {
      const r = kubeinstall(['deploy', '-i', inventory]);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(new RegExp(`^error: cannot write the deploy log ${logs}/deploy-[0-9T-]+Z\\.log: ${logs} is not a folder\\n$`));
    } finally {
      rmSync(logs, { force: true });
    }
  });

  it('in a read-only logs folder stops deploy the same way (chattr +i: even root cannot add a file)', () => {
    const logs = join(clusterDir, 'logs');
    mkdirSync(logs, { recursive: true });
    execFileSync('chattr', ['+i', logs]);
    try {
      const r = kubeinstall(['deploy', '-i', inventory]);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(new RegExp(`^error: cannot write the deploy log ${logs}/deploy-[0-9T-]+Z\\.log: EPERM \\(operation not permitted\\)\\n$`));
    } finally {
      execFileSync('chattr', ['-i', logs]);
    }
  });
});

/** A cluster whose `certs` takes long enough (RSA keys for 7 hosts) for two runs to overlap. */
const race = join(root, 'race.yaml');
const raceDir = join(root, 'race');
const lockFile = join(raceDir, LOCK_FILE);
writeFileSync(
  race,
  [
    'cluster: { name: race, keyAlgorithm: rsa-2048 }',
    'hosts:',
    '  - { name: m1, address: 127.0.8.1, roles: [etcd, master] }',
    ...Array.from({ length: 6 }, (_, i) => `  - { name: n${i + 1}, address: 127.0.8.${i + 2}, roles: [node] }`),
    '',
  ].join('\n'),
);

const writeLock = (dir: string, holder: Record<string, unknown>): void => writeFileSync(join(dir, LOCK_FILE), JSON.stringify(holder));

describe('the cluster folder lock', () => {
  it('lets one of two certs runs started at once work and stops the other, naming the holder; the PKI verifies clean', async () => {
    const runs = [startKubeinstall(['certs', '-i', race]), startKubeinstall(['certs', '-i', race])];
    const results = await Promise.all(runs.map((r) => r.done));
    expect(results.map((r) => r.code).sort(), results.map((r) => r.err).join('\n')).toEqual([0, 1]);
    const winner = results.findIndex((r) => r.code === 0);
    const loser = results[1 - winner]!;
    expect(loser.err).toMatch(
      new RegExp(
        `^error: ${raceDir} is in use by pid ${runs[winner]!.child.pid} \\(kubeinstall certs -i ${race}\\) since \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z; try again when it has finished \\(lock file ${lockFile}\\)\\n$`,
      ),
    );
    expect(loser.out).toBe('');
    const verify = kubeinstall(['verify-certs', '-i', race]);
    expect(verify.code, verify.out + verify.err).toBe(0);
    expect(existsSync(lockFile)).toBe(false);
  });

  it('takes over a lock left by a process that no longer runs, with a note', () => {
    const dead = spawnSync('true').pid; // exited and reaped: nothing runs under this pid now
    writeLock(clusterDir, { pid: dead, command: 'kubeinstall certs -i old.yaml', startedAt: '2026-01-01T00:00:00.000Z', hostname: hostname() });
    const r = kubeinstall(['certs', '-i', inventory]);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain(
      `note: took over the lock on ${clusterDir} left by pid ${dead} (kubeinstall certs -i old.yaml) since 2026-01-01T00:00:00.000Z, which is no longer running\n`,
    );
    expect(existsSync(join(clusterDir, LOCK_FILE))).toBe(false);
  });

  it('lets only one of two runs take over the same stale lock', async () => {
    const dead = spawnSync('true').pid;
    rmSync(raceDir, { recursive: true }); // a new PKI: long enough for the runs to overlap
    mkdirSync(raceDir);
    writeLock(raceDir, { pid: dead, command: 'kubeinstall certs -i race.yaml', startedAt: '2026-01-01T00:00:00.000Z', hostname: hostname() });
    const runs = [startKubeinstall(['certs', '-i', race]), startKubeinstall(['certs', '-i', race])];
    const results = await Promise.all(runs.map((r) => r.done));
    expect(results.map((r) => r.code).sort(), results.map((r) => r.err).join('\n')).toEqual([0, 1]);
    expect(results.find((r) => r.code === 1)!.err).toMatch(/is in use by pid \d+ \(kubeinstall certs -i .*race\.yaml\)/);
    expect(existsSync(lockFile)).toBe(false);
  });

  it('stops certs, deploy and plan --write while a live run holds it, before deploy connects', () => {
    const holder = { pid: process.pid, command: 'kubeinstall deploy -i inventory.yaml', startedAt: '2026-01-01T00:00:00.000Z', hostname: hostname() };
    writeLock(clusterDir, holder);
    try {
      const out = join(root, 'plan-out');
      for (const args of [
        ['certs', '-i', inventory],
        ['deploy', '-i', inventory],
        ['plan', '-i', inventory, '--write', out],
      ]) {
        const r = kubeinstall(args);
        expect(r.code, args.join(' ')).toBe(1);
        expect(r.out).toBe('');
        expect(r.err).toBe(
          `error: ${clusterDir} is in use by pid ${process.pid} (kubeinstall deploy -i inventory.yaml) since 2026-01-01T00:00:00.000Z; try again when it has finished (lock file ${join(clusterDir, LOCK_FILE)})\n`,
        );
      }
      expect(existsSync(out)).toBe(false);
      expect(JSON.parse(readFileSync(join(clusterDir, LOCK_FILE), 'utf8'))).toEqual(holder);
    } finally {
      rmSync(join(clusterDir, LOCK_FILE));
    }
  });

  it.each([
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const)('is removed when certs is stopped by %s', async (signal, code) => {
    const run = startKubeinstall(['certs', '-i', race, '--force-ca', '--yes']);
    const deadline = Date.now() + 10_000;
    while (!existsSync(lockFile)) {
      if (Date.now() > deadline) {
        run.child.kill('SIGKILL');
        expect.fail(`certs took no lock in ${lockFile} within 10 s`);
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    run.child.kill(signal);
    const r = await run.done;
    expect(r.code).toBe(code);
    expect(existsSync(lockFile)).toBe(false);
  });
});
