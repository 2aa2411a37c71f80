// End to end on the test bed: an etcd-only inventory of 3 hosts (198.18.21.21-23, each with its own network) becomes a healthy
// 3-member TLS etcd cluster with real etcd; a re-run changes nothing; a taken port is reported.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PhaseFailed } from '../../../src/deploy/manager.js';
import { LOCK_FILE } from '../../../src/util/cluster-lock.js';
import { run, startSetting, TESTBED_IGNORED_CHECKS, type Setting } from './fixtures.js';

const HOSTS = [1, 2, 3].map((n) => ({ name: `etcd-${n}`, address: `198.18.21.${20 + n}`, roles: ['etcd' as const] }));
const endpoints = HOSTS.map((h) => `https://${h.address}:2379`);
let s: Setting;
let ORIGINAL_ETCD_SHA: string;

beforeAll(async () => {
  s = await startSetting({ name: 'etcd-only', subnet: '198.18.21.0/24' }, HOSTS);
  ORIGINAL_ETCD_SHA = (await run('sha256sum', ['/usr/bin/etcd'])).stdout.split(' ')[0]!;
});
afterAll(async () => {
  await s?.stop();
});

describe('etcd-only inventory', () => {
  it('deploys a healthy 3-member TLS cluster: put on one member, get on another', async () => {
    const result = await s.deploy();
    expect(result.summary.filesUploaded).toBeGreaterThan(0);
    expect(result.summary.hosts.map((h) => h.restarted)).toEqual([['etcd.service'], ['etcd.service'], ['etcd.service']]);
    await s.etcdctl(endpoints, 'endpoint', 'health'); // exits non-zero unless every member is healthy
    const members = await s.etcdctl([endpoints[0]!], 'member', 'list');
    expect(
      members
        .trim()
        .split('\n')
        .map((l) => l.split(', ')[2])
        .sort(),
    ).toEqual(['etcd-1', 'etcd-2', 'etcd-3']);
    await s.etcdctl([endpoints[0]!], 'put', 'kubeinstall-e2e', 'written on etcd-1');
    expect(await s.etcdctl([endpoints[2]!], 'get', '--print-value-only', 'kubeinstall-e2e')).toBe('written on etcd-1\n');
  });

  it('re-runs with 0 files uploaded and 0 services restarted', async () => {
    const result = await s.deploy();
    expect(result.summary.filesUploaded).toBe(0);
    expect(result.summary.servicesRestarted).toBe(0);
  });

  it('a member whose port is taken: preflight names it; forced, the error has the host and the journal tail; the others stay healthy', async () => {
    await s.tb.hostExec('etcd-3', 'systemctl stop etcd.service');
    // Another program takes the peer port on the host (a transient unit, so it outlives this command).
    // SO_REUSEADDR, as servers set it: the stopped member's peer connections may still be in TIME_WAIT on 2380.
    const squat =
      'import socket, time; s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); ' +
      `s.bind(('${HOSTS[2]!.address}', 2380)); s.listen(); time.sleep(600)`;
    await s.tb.hostExec(
      'etcd-3',
      `systemd-run --unit=port-squatter python3 -c "${squat}" && ` +
        `for i in $(seq 300); do ss -Hltn 'sport = :2380' | grep -q . && exit 0; sleep 0.1; done; exit 1`,
    );
    try {
      await expect(s.deploy()).rejects.toThrow(/etcd-3: checks: preflight errors: \n\s+\[ports\] already in use on 198\.18\.21\.23: 2380 \(etcd peer\)/);
      const err = await s.deploy({ ignorePreflight: new Set([...TESTBED_IGNORED_CHECKS, 'ports']) }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PhaseFailed);
      expect((err as PhaseFailed).failures.map((f) => [f.host, f.step])).toEqual([['etcd-3', 'wait for endpoint health']]);
      expect((err as PhaseFailed).message).toMatch(/journalctl -u etcd.service \(last lines\):[\s\S]*address already in use/);
      await s.etcdctl(endpoints.slice(0, 2), 'endpoint', 'health');
    } finally {
      await s.tb.hostExec('etcd-3', 'systemctl stop port-squatter');
    }
    // systemd keeps restarting the member, so it may be up again before this run starts it
    await s.deploy();
    await s.etcdctl(endpoints, 'endpoint', 'health');
  });

  it('Ctrl-C during the upload: exits 130 saying a re-run resumes, leaves no partial file, and the re-run restarts etcd', async () => {
    // A bigger etcd (trailing bytes do not change what an ELF binary runs) keeps the upload busy.
    await appendFile(join(s.binariesDir, 'etcd'), Buffer.alloc(64 << 20, 1));
    const ignored = `--ignore-preflight-errors=${[...TESTBED_IGNORED_CHECKS].join(',')}`;
    const cli = spawn(process.execPath, [join(__dirname, '../../../bin/kubeinstall'), 'deploy', '-i', s.inventory, ignored], {
      env: { ...process.env, CI: 'true' },
    });
    let stderr = '';
    cli.stderr.on('data', (d: Buffer) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => cli.on('close', resolve));
    while ((await s.tb.hostExec('etcd-1', 'test -e /var/lib/kubeinstall/pending-restart/etcd.service', { allowFailure: true })).code !== 0) {
      await new Promise((r) => setTimeout(r, 50));
    }
    cli.kill('SIGINT');
    const code = await exited;
    expect({ code, stderr }).toMatchObject({ code: 130, stderr: expect.stringMatching(/re-running the same deploy resumes/) });
    expect(existsSync(join(s.clusterDir, LOCK_FILE)), 'the cluster folder lock is released').toBe(false);
    const localSum = (await run('sha256sum', [join(s.binariesDir, 'etcd')])).stdout.split(' ')[0];
    for (const h of HOSTS) {
      const { stdout } = await s.tb.hostExec(h.name, "sha256sum /usr/local/bin/etcd | cut -d' ' -f1; ls -A /usr/local/bin");
      const [sum, ...files] = stdout.trim().split('\n');
      expect([localSum, ORIGINAL_ETCD_SHA], h.name).toContain(sum); // the new binary or the old one, never a torn one
      expect(files, h.name).toEqual(['etcd', 'etcdctl']);
    }
    const resumed = await s.deploy();
    expect(resumed.summary.hosts.map((h) => h.restarted)).toEqual([['etcd.service'], ['etcd.service'], ['etcd.service']]);
    await s.etcdctl(endpoints, 'endpoint', 'health');
  });
});
