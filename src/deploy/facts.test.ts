import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { factsScript, parseFacts } from './facts.js';

describe('facts', () => {
  it('parses what the script prints on a real Linux machine, including a socket we listen on', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.2.48', resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const script = factsScript({
        units: ['no-such-unit.service'],
        modules: ['no_such_module'],
        sysctlKeys: ['net.ipv4.ip_forward', 'net.ipv4.ip_local_port_range', 'no.such.key'],
        commands: ['sh', 'no-such-command'],
        diskDirs: [],
        hashRecord: '/nonexistent/file-hashes',
      });
      const before = Date.now() / 1000;
      const facts = parseFacts(execFileSync('sh', ['-c', script], { encoding: 'utf8' }), before);
      expect(facts.arch).toBe(execFileSync('uname', ['-m'], { encoding: 'utf8' }).trim());
      expect(facts.listening).toContainEqual({ address: '127.0.2.48', port });
      expect(facts.loadedModules.has('no_such_module')).toBe(false);
      expect(facts.sysctls.get('net.ipv4.ip_forward')).toMatch(/^[01]$/);
      // several digits: /proc/sys integer files read a byte at a time would give only the first
      expect(facts.sysctls.get('net.ipv4.ip_local_port_range')).toBe(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trimEnd());
      expect(facts.sysctls.has('no.such.key')).toBe(false);
      expect(facts.hostname).toBe(readFileSync('/proc/sys/kernel/hostname', 'utf8').trim());
      expect(facts.unitStates.get('no-such-unit.service')).not.toBe('active');
      expect(Math.abs(facts.clockSkewSeconds)).toBeLessThan(2);
      expect(facts.cgroupVersion).toBe(execFileSync('stat', ['-fc', '%T', '/sys/fs/cgroup'], { encoding: 'utf8' }).trim() === 'cgroup2fs' ? 2 : 1);
      expect([...facts.commands]).toEqual(['sh']);
      expect(facts.hashRecord).toEqual([]);
      expect(facts.etcdRestore).toBeUndefined();
    } finally {
      server.close();
    }
  });

  it('reads IPv6 listeners, pending restarts and unit states', () => {
    const stdout = [
      'arch=aarch64',
      'systemd=yes',
      'swap=1',
      'selinux=',
      'clock=1000.5',
      'unit=firewalld.service=active',
      'unit=ufw.service=inactive',
      'unit=etcd.service=active',
      'unit=kubelet.service=inactive',
      'pending=kubelet.service',
      'tcp=   0: 00000000000000000000000000000000:094B 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     ' +
        '0        0 1 1 0000000000000000 100 0 0 10 0',
      'tcp=   1: 0100007F:0050 00000000:0000 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000 20 4 30 10 -1',
    ].join('\n');
    const facts = parseFacts(stdout, 1000);
    expect(facts.listening).toEqual([{ address: '::', port: 2379 }]); // the second socket is ESTABLISHED, not listening
    expect(facts.selinux).toBe('absent');
    expect(facts.clockSkewSeconds).toBe(0.5);
    expect(facts.unitStates.get('etcd.service')).toBe('active');
    expect(facts.pendingRestarts).toEqual(['kubelet.service']);
    // firewalls share the unit query but are not the plan's units
    expect([facts.firewalldActive, facts.ufwActive]).toEqual([true, false]);
    expect([...facts.unitStates.keys()]).toEqual(['etcd.service', 'kubelet.service']);
    expect(facts.systemd).toBe(true);
    expect(facts.swapDevices).toBe(1);
    expect(facts.cgroupVersion).toBe(1); // not reported: not the unified hierarchy
  });

  it("measures free space where each folder is or will be created, the login user's home, and reads the hash record", () => {
    const dir = mkdtempSync(join(tmpdir(), 'ki-facts-'));
    try {
      const record = join(dir, 'file-hashes');
      writeFileSync(record, `${'a'.repeat(64)} 10 1700000000 /usr/local/bin/etcd\n`);
      const user = execFileSync('id', ['-un'], { encoding: 'utf8' }).trim();
      const script = factsScript({
        units: [],
        modules: [],
        sysctlKeys: [],
        commands: [],
        diskDirs: ['/dev/shm', `${dir}/not/yet`],
        stagingUser: user,
        hashRecord: record,
      });
      const facts = parseFacts(execFileSync('sh', ['-c', script], { encoding: 'utf8' }), Date.now() / 1000);
      const df = (path: string) => execFileSync('df', ['-B1', '--output=avail,target', path], { encoding: 'utf8' }).trim().split('\n')[1]!.trim().split(/\s+/);
      const [, shmMount] = df('/dev/shm');
      expect(facts.diskSpace.get('/dev/shm')).toMatchObject({ mountPoint: shmMount });
      expect(facts.diskSpace.get('/dev/shm')!.freeBytes).toBeGreaterThan(0);
      expect(facts.diskSpace.get(`${dir}/not/yet`)!.mountPoint).toBe(df(dir)[1]); // measured at the folder that exists
      expect(facts.stagingHome).toBe(userInfo().homedir); // from the password database, as ~user is
      expect(facts.diskSpace.get(facts.stagingHome!)!.mountPoint).toBe(df(facts.stagingHome!)[1]);
      expect(facts.hashRecord).toEqual([`${'a'.repeat(64)} 10 1700000000 /usr/local/bin/etcd`]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('finds the interface holding an address on this machine, and reports no neighbour for an address nothing answers', () => {
    const script = factsScript({
      units: [],
      modules: [],
      sysctlKeys: [],
      commands: [],
      diskDirs: [],
      hashRecord: '/nonexistent',
      addresses: ['127.0.0.1', '127.0.2.49'],
    });
    const facts = parseFacts(execFileSync('sh', ['-c', script], { encoding: 'utf8' }), Date.now() / 1000);
    expect([...facts.interfaces]).toEqual([['127.0.0.1', 'lo']]);
    expect(facts.neighbours.size).toBe(0);
  });

  it('counts a neighbour only in a state where a machine answered', () => {
    const facts = parseFacts(
      [
        'neigh=198.18.43.100=198.18.43.100 dev host0 lladdr 02:00:00:00:00:99 STALE',
        'neigh=198.18.43.101=198.18.43.101 dev host0 INCOMPLETE',
        'neigh=198.18.43.102=198.18.43.102 dev host0 lladdr 02:00:00:00:00:98 FAILED',
        'addr=198.18.43.2=host0',
      ].join('\n'),
      0,
    );
    expect([...facts.neighbours]).toEqual([['198.18.43.100', '02:00:00:00:00:99']]);
    expect([...facts.interfaces]).toEqual([['198.18.43.2', 'host0']]);
  });
});
