// The executor against real sshd on test-bed hosts (systemd-nspawn, 198.18.20.11-13, each with its own network;
// nothing listens on the loopback address 127.0.2.19).
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectedAs, WHO_COMMAND } from '../../../src/deploy/phases/connect.js';
import { AuthError, ConnectError, HostKeyError, RemoteCommandError } from '../../../src/ssh/errors.js';
import { createExecutor, type ExecutorOptions, type SshExecutor } from '../../../src/ssh/executor.js';
import { fingerprint } from '../../../src/ssh/known-hosts.js';
import type { ExecEvent } from '../../../src/ssh/types.js';
import { startTestbed, type Testbed } from '../../../src/lab/index.js';
import { inlineItem, localItem, modelHost, randomFile } from './fixtures.js';

const MiB = 1 << 20;
let tb: Testbed;
let work: string;
let big: { sha256: string; size: number };
let bigPath: string;
let small: { sha256: string; size: number }; // larger than the 2 MiB file system it is sent to
let smallPath: string;
let trusted: string; // a known_hosts with every test-bed host
const executors: SshExecutor[] = [];

/** A drop-in that makes sshd offer only its ECDSA host key. */
const ECDSA_ONLY = '/etc/ssh/sshd_config.d/05-ecdsa-only.conf';

/** A key no test-bed host authorizes. */
let wrongKeyPath: string | undefined;
const wrongKey = async (): Promise<string> => {
  if (!wrongKeyPath) {
    wrongKeyPath = join(work, 'wrong_key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ecdsa', '-N', '', '-f', wrongKeyPath]);
  }
  return wrongKeyPath;
};

const executor = (o: Partial<ExecutorOptions> = {}): SshExecutor => {
  const ex = createExecutor({ clusterKnownHosts: trusted, knownHostsFiles: [], sshConfigFile: null, retry: { attempts: 3, baseDelayMs: 100 }, ...o });
  executors.push(ex);
  return ex;
};

beforeAll(async () => {
  tb = await startTestbed({
    network: { name: 'ssh', subnet: '198.18.20.0/24' },
    hosts: [1, 2, 3].map((n) => ({ name: `h${n}`, address: `198.18.20.${10 + n}` })),
  });
  work = await mkdtemp(join(tmpdir(), 'kubeinstall-ssh-test-'));
  trusted = join(work, 'known_hosts');
  await writeFile(trusted, await tb.knownHosts());
  bigPath = join(work, 'big.bin');
  big = await randomFile(bigPath, 100 * MiB);
  smallPath = join(work, 'small.bin');
  small = await randomFile(smallPath, 3 * MiB);
});

afterAll(async () => {
  await Promise.all(executors.map((e) => e.close()));
  await tb?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('exec', () => {
  it('runs commands on 3 hosts in parallel over one connection each', async () => {
    const ex = executor();
    const events: ExecEvent[] = [];
    ex.onExec((e) => events.push(e));
    const hosts = ['h1', 'h2', 'h3'].map((n) => modelHost(tb, n));
    const names = await Promise.all(hosts.map((h) => ex.exec(h, 'hostname', { step: 'who' })));
    expect(names.map((r) => r.stdout.trim())).toEqual(['h1', 'h2', 'h3']);
    await Promise.all(hosts.map((h) => ex.exec(h, 'true', { step: 'again' })));
    // sshd logs one accepted login per connection: the second round reused the first connection
    const logins = await tb.hostExec('h1', "journalctl -u ssh --no-pager | grep -c 'Accepted publickey for root' || true");
    expect(Number(logins.stdout.trim())).toBe(1);
    expect(events.map((e) => e.step).sort()).toEqual(['again', 'again', 'again', 'who', 'who', 'who']);
  });

  it('fails a command with the host, step, command, exit code and stderr', async () => {
    const ex = executor();
    const err = await ex.exec(modelHost(tb, 'h2'), 'echo partial; echo "disk is on fire" >&2; exit 3', { step: 'check disk' }).catch((e) => e);
    expect(err).toBeInstanceOf(RemoteCommandError);
    expect(err.message).toContain('h2: check disk failed (exit 3): echo partial;');
    expect(err.message).toContain('| disk is on fire');
    const allowed = await ex.exec(modelHost(tb, 'h2'), 'exit 4', { step: 'probe', allowFailure: true });
    expect(allowed.code).toBe(4);
  });

  it('stops a command at its timeout', async () => {
    const started = Date.now();
    const err = await executor()
      .exec(modelHost(tb, 'h1'), 'sleep 30', { step: 'wait', timeoutMs: 500 })
      .catch((e) => e);
    expect(err).toBeInstanceOf(RemoteCommandError);
    expect(err.message).toContain('timed out');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('honours ~/.ssh/config HostName, User and IdentityFile', async () => {
    const config = join(work, 'ssh_config');
    await writeFile(config, `Host web3\n  HostName 198.18.20.13\n  IdentityFile ${tb.privateKeyPath}\n`);
    await writeFile(join(work, 'known_hosts_web3'), `${(await tb.hostKeys('h3')).map((k) => `198.18.20.13 ${k}`).join('\n')}\n`);
    const ex = executor({ sshConfigFile: config, clusterKnownHosts: join(work, 'known_hosts_web3') });
    const r = await ex.exec(modelHost(tb, 'h3', { identityFile: undefined }, 'web3'), 'hostname', { step: 'who' });
    expect(r.stdout.trim()).toBe('h3');
  });
});

describe('upload', () => {
  it('sends a 100 MiB file to 3 hosts', async () => {
    const ex = executor();
    const hosts = ['h1', 'h2', 'h3'].map((n) => modelHost(tb, n));
    const items = [localItem('/opt/kubeinstall-test/big.bin', bigPath, big, 0o750), inlineItem('/etc/kubeinstall-test/a.conf', 'a=1\n', 0o600)];
    const progress: number[] = [];
    const first = await Promise.all(hosts.map((h) => ex.upload(h, items, { step: 'binaries', onProgress: (done) => progress.push(done) })));
    expect(first.map((r) => r.uploaded.length)).toEqual([2, 2, 2]);
    expect(progress.at(-1)).toBe(big.size + 4);
    for (const h of hosts) {
      const remote = await tb.hostExec(
        h.name,
        "sha256sum /opt/kubeinstall-test/big.bin; stat -c '%a %U:%G' /opt/kubeinstall-test/big.bin /etc/kubeinstall-test/a.conf; ls -A /opt/kubeinstall-test",
      );
      expect(remote.stdout).toBe(`${big.sha256}  /opt/kubeinstall-test/big.bin\n750 root:root\n600 root:root\nbig.bin\n`);
    }
  });

  it('reports the progress of a 20 MiB upload in increasing byte counts, throttled, ending at the total', async () => {
    const path = join(work, 'progress.bin');
    const file = await randomFile(path, 20 * MiB);
    const seen: [number, number][] = [];
    await executor().upload(modelHost(tb, 'h1'), [localItem('/opt/kubeinstall-test/progress.bin', path, file)], {
      step: 'progress',
      onProgress: (done, total) => void seen.push([done, total]),
    });
    const counts = seen.map(([done]) => done);
    expect(new Set(seen.map(([, total]) => total))).toEqual(new Set([file.size]));
    expect(counts[0]).toBe(0);
    expect(counts.at(-1)).toBe(file.size);
    expect(counts.every((n, i) => i === 0 || n > counts[i - 1]!)).toBe(true);
    // SFTP reports 640 chunks of 32 KiB; the caller hears of every 1% (or 250 ms) at most.
    expect(counts.length).toBeGreaterThan(10);
    expect(counts.length).toBeLessThan(150);
  });

  it('sends what it is given without comparing it again: the caller decided what differs', async () => {
    const ex = executor();
    const h1 = modelHost(tb, 'h1');
    const conf = inlineItem('/etc/kubeinstall-test/same.conf', 'same=1\n', 0o600);
    await ex.upload(h1, [conf], { step: 'first' });
    const steps: string[] = [];
    ex.onExec((e) => steps.push(e.step));
    const again = await ex.upload(h1, [conf], { step: 'configs' });
    expect([again.uploaded, again.bytes]).toEqual([[conf.path], conf.size]);
    expect(steps).toEqual(['configs: prepare', 'configs: install']);
  });

  it('never leaves a partial target when sshd dies mid-upload, and the next run completes', async () => {
    const ex = executor();
    const h2 = modelHost(tb, 'h2');
    const target = '/opt/kubeinstall-test/cut.bin';
    await ex.upload(h2, [inlineItem(target, 'old version\n', 0o755)], { step: 'old' });
    const before = (await tb.hostExec('h2', `sha256sum ${target}`)).stdout;
    let killed: Promise<unknown> | undefined;
    const err = await ex
      .upload(h2, [localItem(target, bigPath, big)], {
        step: 'new',
        onProgress: (done) => {
          if (done > 10 * MiB && !killed) killed = tb.hostExec('h2', 'systemctl kill --signal=KILL ssh.service');
        },
      })
      .catch((e) => e);
    await killed;
    expect(err).toBeInstanceOf(ConnectError);
    expect(err.message).toMatch(/^h2: new/);
    expect((await tb.hostExec('h2', `sha256sum ${target}`)).stdout).toBe(before);
    await tb.hostExec('h2', 'systemctl start ssh.service');
    const report = await ex.upload(h2, [localItem(target, bigPath, big)], { step: 'new' });
    expect(report.uploaded).toEqual([target]);
    expect((await tb.hostExec('h2', `sha256sum ${target}`)).stdout).toBe(`${big.sha256}  ${target}\n`);
  });

  it('names the host, path and free space when the file system fills during the transfer, and leaves no temp file', async () => {
    const ex = executor();
    const h2 = modelHost(tb, 'h2');
    await tb.hostExec('h2', 'mkdir -p /mnt/small && mount -t tmpfs -o size=2m tmpfs /mnt/small');
    try {
      const err = await ex
        .upload(h2, [localItem('/mnt/small/etcd', smallPath, small), localItem('/mnt/small/etcdctl', smallPath, small)], { step: 'binaries' })
        .catch((e) => e);
      expect(err).toBeInstanceOf(Error);
      expect(err.message).toMatch(/^h2: binaries: sending \/mnt\/small\/etcd(ctl)? failed: /);
      expect(err.message).toMatch(/the file system of \/mnt\/small on h2 is full \(\d+ bytes free, 3145728 needed\)/);
      expect((await tb.hostExec('h2', 'ls -A /mnt/small')).stdout).toBe('');
      // a sudo user's files fill it when copied across from the staging folder: nothing stays either
      const user = modelHost(tb, 'h2', { user: tb.sudoUser.name, sudo: true, sudoPasswordEnv: 'SUDO_PW' });
      const viaHome = await executor({ env: { SUDO_PW: tb.sudoUser.password } })
        .upload(user, [localItem('/mnt/small/etcd', smallPath, small)], { step: 'binaries' })
        .catch((e) => e);
      expect(viaHome).toBeInstanceOf(RemoteCommandError);
      expect(viaHome.message).toContain('No space left on device');
      expect((await tb.hostExec('h2', `ls -A /mnt/small /home/${tb.sudoUser.name} | grep kubeinstall-upload || true`)).stdout).toBe('');
    } finally {
      await tb.hostExec('h2', 'umount /mnt/small');
    }
  });
});

describe('host keys', () => {
  it('refuses an unknown key under strict, showing its fingerprint and how to accept it', async () => {
    const empty = join(work, 'known_hosts_empty');
    const err = await executor({ clusterKnownHosts: empty })
      .exec(modelHost(tb, 'h1'), 'true', { step: 'x' })
      .catch((e) => e);
    expect(err).toBeInstanceOf(HostKeyError);
    const ed25519 = (await tb.hostKeys('h1')).find((k) => k.startsWith('ssh-ed25519'))!;
    expect(err.message).toContain(`unknown host key ssh-ed25519 ${fingerprint(ed25519.split(' ')[1])}`);
    expect(err.message).toContain(`198.18.20.11 ${ed25519}`);
    expect(err.message).toContain('accept-new');
  });

  it('records a new key under accept-new once the server proved it holds it, and says so; then refuses a changed key without retrying', async () => {
    const tofu = join(work, 'known_hosts_tofu');
    const h3 = modelHost(tb, 'h3', { hostKeyPolicy: 'accept-new' });
    // authentication refused: the connection never got ready, so nothing is recorded
    const refused = await executor({ clusterKnownHosts: tofu })
      .exec({ ...h3, ssh: { ...h3.ssh, identityFile: await wrongKey() } }, 'true', { step: 'x' })
      .catch((e) => e);
    expect(refused).toBeInstanceOf(AuthError);
    await expect(readFile(tofu, 'utf8')).rejects.toThrow('ENOENT');
    const said: string[] = [];
    const logged: string[] = [];
    await executor({ clusterKnownHosts: tofu, warn: (w) => said.push(w), log: (l) => logged.push(l) }).exec(h3, 'true', { step: 'first contact' });
    const recorded = await readFile(tofu, 'utf8');
    const ed25519 = (await tb.hostKeys('h3')).find((k) => k.startsWith('ssh-ed25519'))!;
    expect(recorded).toBe(`198.18.20.13 ${ed25519}\n`);
    const notice = `h3: recorded the new host key ssh-ed25519 ${fingerprint(ed25519.split(' ')[1])} of 198.18.20.13:22 in ${tofu}`;
    expect(said).toEqual([notice]);
    expect(logged).toContain(notice);
    await executor({ clusterKnownHosts: tofu }).exec(modelHost(tb, 'h3'), 'true', { step: 'strict now' });

    await tb.regenerateHostKeys('h3');
    const started = Date.now();
    const err = await executor({ clusterKnownHosts: tofu, retry: { attempts: 5, baseDelayMs: 2000 } })
      .exec(h3, 'true', { step: 'x' })
      .catch((e) => e);
    expect(err).toBeInstanceOf(HostKeyError);
    expect(err.message).toContain('HOST KEY CHANGED');
    expect(Date.now() - started).toBeLessThan(2000); // no retry
    expect(await readFile(tofu, 'utf8')).toBe(recorded);
    await writeFile(trusted, await tb.knownHosts()); // later tests trust the new keys
  });

  it('refuses under accept-new a server that now offers only a key of another type, before authenticating', async () => {
    const tofu = join(work, 'known_hosts_other_type');
    const ed25519 = (await tb.hostKeys('h2')).find((k) => k.startsWith('ssh-ed25519'))!;
    await writeFile(tofu, `198.18.20.12 ${ed25519}\n`);
    // the sudo user logs in with its password: sshd logs every accepted or failed attempt for it
    const authAttempts = async (): Promise<string> =>
      (await tb.hostExec('h2', `journalctl -u ssh --no-pager | grep -E '(Accepted|Failed) [a-z-]+ for ${tb.sudoUser.name} ' || true`)).stdout;
    const before = await authAttempts();
    await tb.hostExec('h2', `echo 'HostKey /etc/ssh/ssh_host_ecdsa_key' > ${ECDSA_ONLY} && systemctl restart ssh`);
    try {
      const said: string[] = [];
      const host = modelHost(tb, 'h2', { user: tb.sudoUser.name, identityFile: undefined, passwordEnv: 'LOGIN_PW', hostKeyPolicy: 'accept-new' });
      const ex = executor({ clusterKnownHosts: tofu, env: { LOGIN_PW: tb.sudoUser.password }, warn: (w) => said.push(w) });
      const err = await ex.exec(host, 'true', { step: 'x' }).catch((e) => e);
      expect(err).toBeInstanceOf(HostKeyError);
      expect(err.message).toContain('HOST KEY CHANGED');
      expect(err.message).toContain(`ssh-ed25519 ${fingerprint(ed25519.split(' ')[1])} (${tofu}:1)`);
      expect(await readFile(tofu, 'utf8')).toBe(`198.18.20.12 ${ed25519}\n`);
      expect(said).toEqual([]);
      expect(await authAttempts()).toBe(before);
    } finally {
      await tb.hostExec('h2', `rm -f ${ECDSA_ONLY} && systemctl restart ssh`);
    }
  });
});

describe('connection failures', () => {
  it('reports refused authentication without retrying', async () => {
    const err = await executor()
      .exec(modelHost(tb, 'h1', { identityFile: await wrongKey() }), 'true', { step: 'x' })
      .catch((e) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect(err.message).toMatch(/^h1: authentication to 198\.18\.20\.11:22 failed/);
  });

  it('gives up on an address where nothing listens quickly and clearly', async () => {
    const started = Date.now();
    const ghost = { ...modelHost(tb, 'h1', {}, '127.0.2.19'), name: 'ghost' };
    const err = await executor()
      .exec(ghost, 'true', { step: 'x' })
      .catch((e) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect(err.message).toBe('ghost: connection to 127.0.2.19:22 refused: is sshd running and listening there? (after 3 attempts)');
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('sudo and jump hosts', () => {
  it('runs privileged commands and uploads through a non-root user with a sudo password, never showing it', async () => {
    const lines: string[] = [];
    const events: ExecEvent[] = [];
    const password = tb.sudoUser.password;
    const ex = executor({ log: (l) => lines.push(l), env: { SUDO_PW: password } });
    ex.onExec((e) => events.push(e));
    const user = modelHost(tb, 'h1', { user: tb.sudoUser.name, sudo: true, sudoPasswordEnv: 'SUDO_PW' });
    expect((await ex.exec(user, 'id -un', { step: 'who', sudo: true })).stdout.trim()).toBe('root');
    expect((await ex.exec(user, 'id -un', { step: 'who' })).stdout.trim()).toBe(tb.sudoUser.name);
    expect((await ex.exec(user, 'cat', { step: 'stdin', sudo: true, stdin: 'payload' })).stdout).toBe('payload');
    await ex.upload(user, [inlineItem('/etc/kubeinstall-test/secret.key', 'key material\n', 0o600)], { step: 'keys' });
    const landed = await tb.hostExec('h1', "stat -c '%a %U' /etc/kubeinstall-test/secret.key; ls -A /home/kitest /etc/kubeinstall-test");
    expect(landed.stdout).toContain('600 root\n');
    expect(landed.stdout).not.toContain('kubeinstall-upload'); // staging cleaned up
    const err = await ex.exec(user, `test "${password}" = nope`, { step: 'compare', sudo: true }).catch((e) => e);
    expect(err.message).toContain('test "***" = nope');
    const output = [...lines, ...events.map((e) => e.command), err.message].join('\n');
    expect(output).toContain('sudo');
    expect(output).not.toContain(password);
  });

  it('copies only the planned files out of the staging folder, and never leaves one behind', async () => {
    const password = tb.sudoUser.password;
    const ex = executor({ env: { SUDO_PW: password } });
    const user = modelHost(tb, 'h1', { user: tb.sudoUser.name, sudo: true, sudoPasswordEnv: 'SUDO_PW' });
    const leftovers = async (): Promise<string> =>
      (await tb.hostExec('h1', `ls -A /home/${tb.sudoUser.name} /opt/kubeinstall-staging | grep kubeinstall-upload || true`)).stdout;
    // a file appears in the staging folder while the upload runs
    let planted: Promise<unknown> | undefined;
    const plant = `for d in /home/${tb.sudoUser.name}/.kubeinstall-upload*/0; do echo owned > "$d/planted" && echo "$d"; done`;
    await ex.upload(user, [localItem('/opt/kubeinstall-staging/big.bin', bigPath, big)], {
      step: 'binaries',
      onProgress: () => void (planted ??= tb.hostExec('h1', plant)),
    });
    expect(((await planted) as { stdout: string }).stdout).toContain('kubeinstall-upload');
    expect((await tb.hostExec('h1', 'ls -A /opt/kubeinstall-staging')).stdout).toBe('big.bin\n');
    expect(await leftovers()).toBe('');

    // the install step fails (the bytes do not match their hash): staged and temporary files go too
    const wrong = { ...inlineItem('/opt/kubeinstall-staging/wrong.conf', 'x=1\n', 0o644), sha256: '0'.repeat(64) };
    const err = await ex.upload(user, [wrong], { step: 'configs' }).catch((e) => e);
    expect(err).toBeInstanceOf(RemoteCommandError);
    expect(err.message).toContain('h1: configs: install failed');
    expect(await leftovers()).toBe('');

    // uploads at once to the same host each stage in their own folder
    const reports = await Promise.all(
      [1, 2, 3].map((n) => ex.upload(user, [inlineItem(`/opt/kubeinstall-staging/c${n}.conf`, `c=${n}\n`, 0o644)], { step: `configs ${n}` })),
    );
    expect(reports.map((r) => r.uploaded)).toEqual([1, 2, 3].map((n) => [`/opt/kubeinstall-staging/c${n}.conf`]));
    expect((await tb.hostExec('h1', 'cat /opt/kubeinstall-staging/c1.conf /opt/kubeinstall-staging/c2.conf /opt/kubeinstall-staging/c3.conf')).stdout).toBe(
      'c=1\nc=2\nc=3\n',
    );
    expect(await leftovers()).toBe('');
  });

  it('uses sudo when ~/.ssh/config makes the login user a non-root one, and logs that user', async () => {
    const config = join(work, 'ssh_config_user');
    await writeFile(config, `Host 198.18.20.11\n  User ${tb.sudoUser.name}\n`);
    const lines: string[] = [];
    const ex = executor({ sshConfigFile: config, env: { SUDO_PW: tb.sudoUser.password }, log: (l) => lines.push(l) });
    const host = modelHost(tb, 'h1', { sudoPasswordEnv: 'SUDO_PW' }); // the inventory says root, hence no sudo
    expect((await ex.exec(host, 'id -un', { step: 'who', sudo: true })).stdout.trim()).toBe('root');
    expect((await ex.exec(host, 'id -un', { step: 'who' })).stdout.trim()).toBe(tb.sudoUser.name);
    expect(lines).toContain(`h1: connected to 198.18.20.11:22 as ${tb.sudoUser.name}`);
    // what deploy's connect step prints
    expect(connectedAs((await ex.exec(host, WHO_COMMAND, { step: 'connect', sudo: true })).stdout)).toBe(`as ${tb.sudoUser.name} (sudo: root)`);
    expect(connectedAs((await executor().exec(modelHost(tb, 'h1'), WHO_COMMAND, { step: 'connect', sudo: true })).stdout)).toBe('as root');
  });

  it('says what to set when sudo needs a password that was not given', async () => {
    const user = modelHost(tb, 'h2', { user: tb.sudoUser.name, sudo: true });
    const err = await executor()
      .exec(user, 'true', { step: 'prepare', sudo: true })
      .catch((e) => e);
    expect(err).toBeInstanceOf(RemoteCommandError);
    expect(err.message).toContain('a password is required');
    expect(err.message).toContain('hint: sudo wants a password: set ssh.sudoPasswordEnv');
  });

  it('reaches a host through a bastion by a name only the bastion can resolve', async () => {
    const byName = join(work, 'known_hosts_names');
    await writeFile(byName, `${(await tb.knownHosts()) + (await tb.hostKeys('h2')).map((k) => `h2 ${k}`).join('\n')}\n`);
    const bastion = { ...modelHost(tb, 'h1').ssh, address: '198.18.20.11' };
    const viaJump = modelHost(tb, 'h2', { bastion }, 'h2');
    const r = await executor({ clusterKnownHosts: byName }).exec(viaJump, 'hostname', { step: 'who' });
    expect(r.stdout.trim()).toBe('h2');
  });
});
