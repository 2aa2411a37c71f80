// `kubeinstall certs` when things go wrong, through the built command: a full disk (a tiny tmpfs the test
// mounts, so it runs as root), Ctrl-C, unsafe folders, loose key modes, a CA with a wrong key identifier,
// a CA that expires before its leaves would. openssl reads the certificates.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { kubeinstall, KUBEINSTALL_BIN } from '../kubeinstall.js';

const root = mkdtempSync(join(tmpdir(), 'kubeinstall-pki-fail-'));
const mounts: string[] = [];
afterEach(() => {
  for (const m of mounts.splice(0)) spawnSync('umount', [m]);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

let count = 0;
/** A fresh inventory (and so a fresh cluster folder, `<root>/<n>/demo`) with one master and `nodes` nodes. */
const setup = (algorithm: string, nodes = 1, cluster = ''): { inventory: string; dir: string } => {
  const base = join(root, String(++count));
  mkdirSync(base);
  const inventory = join(base, 'inventory.yaml');
  const hosts = [
    '  - { name: m1, address: 127.0.3.97, roles: [etcd, master] }',
    ...Array.from({ length: nodes }, (_, i) => `  - { name: n${i + 1}, address: 127.0.4.${i + 1}, roles: [node] }`),
  ];
  writeFileSync(inventory, `cluster:\n  name: demo\n  keyAlgorithm: ${algorithm}\n${cluster}hosts:\n${hosts.join('\n')}\n`);
  return { inventory, dir: join(base, 'demo') };
};

const mountTmpfs = (dir: string, options: string): void => {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `${options},mode=0700`, 'tmpfs', dir], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  mounts.push(dir);
};
const remount = (dir: string, options: string): void => {
  const r = spawnSync('mount', ['-o', `remount,${options}`, dir], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
};
const files = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => e.name);
const openssl = (...args: string[]): string => {
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
};
const notAfter = (crt: string): number => Date.parse(openssl('x509', '-in', crt, '-noout', '-enddate').trim().replace('notAfter=', ''));

describe('certs on a full disk', () => {
  it('fails naming the file, changes nothing, and the next run completes', () => {
    const { inventory, dir } = setup('ecdsa-p256');
    mountTmpfs(dir, 'size=40k'); // ten pages: room for a third of the files
    const full = kubeinstall(['certs', '-i', inventory]);
    expect(full.code).toBe(1);
    expect(full.err).toMatch(new RegExp(`error: ${dir}/(pki|kubeconfigs)/\\S+ \\(staged in ${dir}/.certs-staging\\): ENOSPC: no space left on device`));
    expect(files(dir)).toEqual([]);
    remount(dir, 'size=16m');
    const again = kubeinstall(['certs', '-i', inventory]);
    expect(again.code, again.err).toBe(0);
    expect(again.out).toMatch(/^19 created, 0 kept, 0 re-issued; 39 files written/m);
    expect(kubeinstall(['verify-certs', '-i', inventory]).code).toBe(0);
  });

  it('that fills while the files are moved into place: the next run finishes the move', () => {
    const { inventory, dir } = setup('ecdsa-p256');
    // Count what a run makes, then allow the inodes to stage it all (one flat folder) and write the journal,
    // but not to make every target folder.
    const probe = setup('ecdsa-p256');
    expect(kubeinstall(['certs', '-i', probe.inventory]).code).toBe(0);
    const staged = ['pki', 'kubeconfigs', 'network'].flatMap((d) => files(join(probe.dir, d))).length;
    mountTmpfs(dir, `size=16m,nr_inodes=${1 + 1 + staged + 1 + 2}`);
    const full = kubeinstall(['certs', '-i', inventory]);
    expect(full.code).toBe(1);
    expect(full.err).toMatch(new RegExp(`error: ${dir}/\\S+: ENOSPC: no space left on device, mkdir`));
    expect(existsSync(join(dir, '.certs-staging/journal.json'))).toBe(true);
    remount(dir, 'nr_inodes=10000');
    const again = kubeinstall(['certs', '-i', inventory]);
    expect(again.code, again.err).toBe(0);
    expect(again.err).toContain('warning: finished writing the 39 files of an interrupted run');
    expect(again.out).toMatch(/^0 created, 19 kept, 0 re-issued; 0 files written/m);
    expect(existsSync(join(dir, '.certs-staging'))).toBe(false);
    expect(kubeinstall(['verify-certs', '-i', inventory]).code).toBe(0);
  });
});

/**
 * Waits until the process has used a second of CPU: Node starts and loads the inventory in a fraction of
 * that, so it is generating keys (and has its Ctrl-C handler), whatever the load on the machine.
 */
const busyGeneratingKeys = async (pid: number): Promise<void> => {
  for (let i = 0; i < 1500; i++) {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    if (Number(fields[11]) + Number(fields[12]) >= 100) return; // utime + stime, in 1/100 s
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('certs did not get busy');
};

describe('certs interrupted by Ctrl-C', () => {
  it('exits 130 while keys are being made, writes nothing, and the next run completes', async () => {
    const { inventory, dir } = setup('rsa-2048', 10); // 35 RSA keys: seconds of work
    const child = spawn(process.execPath, [KUBEINSTALL_BIN, 'certs', '-i', inventory], { env: { ...process.env, NO_COLOR: '1' } });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await busyGeneratingKeys(child.pid!);
    const stoppedAt = Date.now();
    child.kill('SIGINT');
    expect(await exited, err).toBe(130);
    expect(Date.now() - stoppedAt).toBeLessThan(5000); // only the keys already in the pool are waited for
    expect(err).toMatch(/error: interrupted: nothing was changed/);
    expect(err).not.toMatch(/PRIVATE KEY|^\s+at /m);
    expect(existsSync(dir) ? files(dir) : []).toEqual([]);
    const again = kubeinstall(['certs', '-i', inventory]);
    expect(again.code, again.err).toBe(0);
    expect(kubeinstall(['verify-certs', '-i', inventory]).code).toBe(0);
  }, 120_000);
});

describe('certs and the folders and files it keeps', () => {
  it('refuses a cluster folder writable by others and a pki folder owned by another user, naming the fix', () => {
    const { inventory, dir } = setup('ecdsa-p256');
    expect(kubeinstall(['certs', '-i', inventory]).code).toBe(0);
    chmodSync(dir, 0o777);
    const open = kubeinstall(['certs', '-i', inventory]);
    expect(open.code).toBe(1);
    expect(open.err).toContain(`${dir} is writable by group or others (mode 0777): \`chmod go-w ${dir}\``);
    chmodSync(dir, 0o700);
    chownSync(join(dir, 'pki'), 4242, 4242);
    const foreign = kubeinstall(['certs', '-i', inventory]);
    expect(foreign.code).toBe(1);
    expect(foreign.err).toContain(`${dir}/pki is owned by uid 4242, not by you (uid 0): \`chown 0 ${dir}/pki\``);
    chownSync(join(dir, 'pki'), 0, 0);
    expect(kubeinstall(['certs', '-i', inventory]).code).toBe(0);
  });

  it('sets a kept private key with a looser mode back to 0600, and says so', () => {
    const { inventory, dir } = setup('ecdsa-p256');
    expect(kubeinstall(['certs', '-i', inventory]).code).toBe(0);
    chmodSync(join(dir, 'pki/apiserver.key'), 0o644);
    chmodSync(join(dir, 'pki/sa.key'), 0o640);
    const r = kubeinstall(['certs', '-i', inventory]);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain('warning: pki/apiserver.key had mode 0644, set to 0600');
    expect(r.err).toContain('warning: pki/sa.key had mode 0640, set to 0600');
    expect(statSync(join(dir, 'pki/apiserver.key')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'pki/sa.key')).mode & 0o777).toBe(0o600);
    expect(kubeinstall(['verify-certs', '-i', inventory]).code).toBe(0);
  });
});

describe("a CA whose subject key identifier is not its key's (made by an earlier release)", () => {
  it('is reported by verify-certs, kept by certs with a warning, and replaced with --force-ca saying why', () => {
    const { inventory, dir } = setup('rsa-2048', 0);
    expect(kubeinstall(['certs', '-i', inventory]).code).toBe(0);
    const ca = join(dir, 'pki/ca.crt');
    // The same key and subject, with the SHA-1 of nothing as its SKI (what every RSA CA carried before).
    const emptySha1 = 'DA:39:A3:EE:5E:6B:4B:0D:32:55:BF:EF:95:60:18:90:AF:D8:07:09';
    openssl(
      'req',
      '-new',
      '-x509',
      '-key',
      join(dir, 'pki/ca.key'),
      '-subj',
      '/CN=kubernetes',
      '-days',
      '3650',
      '-out',
      ca,
      '-addext',
      `subjectKeyIdentifier=${emptySha1}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign',
      '-addext',
      'subjectAltName=DNS:kubernetes',
    );
    const verify = kubeinstall(['verify-certs', '-i', inventory]);
    expect(verify.code).toBe(1);
    expect(verify.out).toMatch(new RegExp(`^  ca: subject key identifier ${emptySha1} does not match its key \\([0-9A-F:]{59}\\)$`, 'm'));
    const kept = kubeinstall(['certs', '-i', inventory]);
    expect(kept.code, kept.err).toBe(0);
    expect(kept.err).toContain(`warning: kept CA ca, but its subject key identifier ${emptySha1} does not match its key`);
    expect(kept.err).toContain('`certs --force-ca` re-issues it and everything it signed');
    const forced = kubeinstall(['certs', '-i', inventory, '--force-ca', '--yes']);
    expect(forced.code, forced.err).toBe(0);
    expect(forced.out).toContain(`re-issued ca: replaced (--force-ca); it had: subject key identifier ${emptySha1} does not match its key`);
    expect(kubeinstall(['verify-certs', '-i', inventory]).code).toBe(0);
  }, 60_000);
});

describe('a CA that expires before a leaf would', () => {
  it.each(['rsa-2048', 'ecdsa-p256'])(
    'caps the leaves at its expiry and names them (%s)',
    (algorithm) => {
      const { inventory, dir } = setup(algorithm, 1, '  caValidityDays: 1\n');
      const r = kubeinstall(['certs', '-i', inventory]);
      expect(r.code, r.err).toBe(0);
      expect(r.err).toMatch(
        new RegExp(
          '^warning: validity cut to the expiry of CA ca \\(\\S+\\): apiserver, apiserver-kubelet-client, ' +
            'kubelet-client \\(2\\), kubelet-server \\(2\\), admin, super-admin, kube-proxy, controller-manager, scheduler$',
          'm',
        ),
      );
      expect(r.err).toMatch(
        /^warning: validity cut to the expiry of CA etcd-ca \(\S+\): apiserver-etcd-client, etcd-healthcheck-client, etcd-server, etcd-peer$/m,
      );
      const caEnd = notAfter(join(dir, 'pki/ca.crt'));
      for (const leaf of ['apiserver', 'apiserver-kubelet-client', 'kubelets/n1/kubelet-server'])
        expect(notAfter(join(dir, `pki/${leaf}.crt`)), leaf).toBe(caEnd);
      expect(notAfter(join(dir, 'pki/etcd/members/m1/server.crt'))).toBe(notAfter(join(dir, 'pki/etcd/ca.crt')));
      // Capped leaves are not re-issued on every run for being short-lived.
      expect(kubeinstall(['certs', '-i', inventory]).out).toMatch(/^0 created, 19 kept, 0 re-issued/m);
    },
    60_000,
  );
});
