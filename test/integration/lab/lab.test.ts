// `kubeinstall lab` end to end, as an operator runs it: lab up (etcd-only) boots hosts that outlive the
// command, certs and deploy through the generated inventory give a healthy TLS etcd, a second lab runs beside
// it, lab down leaves nothing of its own; a machine that is not ready gets one message per problem and nothing
// made. Subnets: 198.18.70.0/24 and 198.18.71.0/24 (KUBEINSTALL_LAB_SUBNETS), bridges kitb-lab-<hash of the folder>.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { execFile } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { labNetworkName } from '../../../src/lab/layout.js';
import { bridgeName } from '../../../src/lab/network.js';
import { LAB_COMMANDS } from '../../../src/lab/prerequisites.js';
import type { LabState } from '../../../src/lab/state.js';
import { quote } from '../../../src/util/shell.js';
import { KUBEINSTALL_BIN, kubeinstall } from '../kubeinstall.js';
import { bridgeExists, leftovers } from './leftovers.js';

const run = promisify(execFile);
const base = mkdtempSync(join(tmpdir(), 'kubeinstall-lab-e2e-'));
const LAB1 = join(base, 'lab');
const LAB2 = join(base, 'second lab');
const RANGE1 = { KUBEINSTALL_LAB_SUBNETS: '198.18.70.0/24' };
// The second lab's range holds the first lab's /24 too: it must step over it.
const RANGE2 = { KUBEINSTALL_LAB_SUBNETS: '198.18.70.0/23' };
// Free while both labs run: the machine checks that come before it are the ones reported.
const RANGE3 = { KUBEINSTALL_LAB_SUBNETS: '198.18.72.0/24' };

const state = (dir: string): LabState => JSON.parse(readFileSync(join(dir, 'lab.json'), 'utf8')) as LabState;
const made: LabState[] = [];
afterAll(() => {
  // A failed test must not leave hosts running: lab down for each lab still there.
  for (const dir of [LAB1, LAB2]) if (existsSync(join(dir, 'lab.json'))) kubeinstall(['lab', 'down', '--dir', dir]);
  rmSync(base, { recursive: true, force: true });
});

const etcdHealth = async (dir: string, s: LabState): Promise<string> => {
  const pki = join(dir, 'cluster/pki/etcd');
  const { stdout, stderr } = await run(
    'etcdctl',
    [
      `--endpoints=${s.hosts.map((h) => `https://${h.address}:2379`).join(',')}`,
      `--cacert=${pki}/ca.crt`,
      `--cert=${pki}/healthcheck-client.crt`,
      `--key=${pki}/healthcheck-client.key`,
      '--command-timeout=5s',
      'endpoint',
      'health',
    ],
    { env: { ...process.env, ETCDCTL_API: '3' } },
  );
  return stdout + stderr; // etcdctl 3.4 says "is healthy" on stderr
};

describe('kubeinstall lab', () => {
  it('lab up (etcd-only) + certs + deploy through the generated inventory: a healthy 3-member TLS etcd on hosts that outlive lab up', async () => {
    const up = kubeinstall(['lab', 'up', '--dir', LAB1], RANGE1);
    expect(up, up.err).toMatchObject({ code: 0, out: expect.stringMatching(/^lab up: 3 hosts running on bridge kitb-lab-[0-9a-f]{6} \(198\.18\.70\.0\/24\)/) });
    const s = state(LAB1);
    made.push(s);
    expect(s.bridge).toBe(bridgeName({ name: labNetworkName(LAB1), subnet: '' }));
    expect(s.hosts.map((h) => [h.name, h.address])).toEqual([
      ['etcd-1', '198.18.70.11'],
      ['etcd-2', '198.18.70.12'],
      ['etcd-3', '198.18.70.13'],
    ]);
    expect(readdirSync(LAB1).sort()).toEqual(['binaries', 'cluster', 'id_ed25519', 'inventory.yaml', 'lab.json']);
    expect(readdirSync(join(LAB1, 'binaries')).sort()).toEqual(['cni', 'containerd', 'containerd-shim-runc-v2', 'ctr', 'etcd', 'etcdctl', 'runc']);
    expect(readdirSync(join(LAB1, 'binaries/cni'))).toContain('bridge');
    expect(spawnSync('stat', ['-c', '%a', join(LAB1, 'id_ed25519')], { encoding: 'utf8' }).stdout.trim()).toBe('600');

    // lab up has exited: its hosts still run, and answer through the lab's key and pinned host keys only.
    const status = kubeinstall(['lab', 'status', '--dir', LAB1]);
    expect(status.out.match(/ running /g)).toHaveLength(3);
    const ssh = kubeinstall(['lab', 'ssh', 'etcd-2', '--dir', LAB1, '--', 'hostname && ip -4 -o addr show dev host0']);
    expect(ssh, ssh.err).toMatchObject({ code: 0, out: expect.stringMatching(/^etcd-2\n.*inet 198\.18\.70\.12\/24/) });
    expect(kubeinstall(['lab', 'ssh', 'etcd-9', '--dir', LAB1])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/no host etcd-9 in the lab .*; its hosts: etcd-1, etcd-2, etcd-3/),
    });

    const inventory = join(LAB1, 'inventory.yaml');
    expect(kubeinstall(['certs', '-i', inventory]).code).toBe(0);
    // The command lab up printed, as printed: Debian's etcd is older than kubeadm accepts, so its check is named there.
    const deployLine = /^ {2}kubeinstall (deploy .*)$/m.exec(up.out)![1]!.split(' ');
    expect(deployLine.at(-1)).toBe('--ignore-preflight-errors=etcd-version');
    const deploy = kubeinstall(deployLine.map((w) => (w.endsWith('inventory.yaml') ? inventory : w)));
    expect(deploy, deploy.err).toMatchObject({ code: 0, out: expect.stringMatching(/Deploy complete: \d+ file\(s\) uploaded, 3 service\(s\) restarted/) });
    expect((await etcdHealth(LAB1, s)).match(/is healthy/g)).toHaveLength(3);
  });

  it('a second lab with another --dir gets its own bridge and /24 and runs beside the first', async () => {
    const up = kubeinstall(['lab', 'up', '--dir', LAB2, '--etcd', '1'], RANGE2);
    expect(up, up.err).toMatchObject({ code: 0, out: expect.stringMatching(/^lab up: 1 hosts running on bridge kitb-lab-[0-9a-f]{6} \(198\.18\.71\.0\/24\)/) });
    const [s1, s2] = [state(LAB1), state(LAB2)];
    made.push(s2);
    expect(s2.bridge).not.toBe(s1.bridge);
    expect(s2.hosts.map((h) => h.address)).toEqual(['198.18.71.11']);
    const inventory = join(LAB2, 'inventory.yaml');
    expect(kubeinstall(['certs', '-i', inventory]).code).toBe(0);
    expect(kubeinstall(['deploy', '-i', inventory, '--ignore-preflight-errors=etcd-version']).code).toBe(0);
    expect(await etcdHealth(LAB2, s2)).toMatch(/198\.18\.71\.11:2379 is healthy/);
    expect((await etcdHealth(LAB1, s1)).match(/is healthy/g)).toHaveLength(3);
  });

  it('a machine that is not ready: one clear message per problem, exit 2, nothing made', () => {
    const dir = join(base, 'never');
    const bridge = bridgeName({ name: labNetworkName(dir), subnet: '' });
    const nothingMade = (): void => {
      expect(existsSync(dir)).toBe(false);
      expect(bridgeExists(bridge)).toBe(false);
    };
    // Not root (nobody, through setpriv).
    const r = spawnSync('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, KUBEINSTALL_BIN, 'lab', 'up', '--dir', dir], {
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1', ...RANGE3 },
      cwd: '/',
    });
    expect({ code: r.status, err: r.stderr }).toEqual({
      code: 2,
      err:
        'error: lab up: this machine is not ready, nothing was made:\n' +
        '  - not root: lab up mounts overlays, makes a bridge and boots hosts; run it with sudo\n',
    });
    nothingMade();

    // No debootstrap on PATH and no image in the cache (an empty cache folder): the image cannot be had.
    const bin = join(base, 'bin');
    mkdirSync(bin);
    for (const c of [...LAB_COMMANDS.map((x) => x.command), 'zstd'])
      symlinkSync(spawnSync('sh', ['-c', `command -v ${c}`], { encoding: 'utf8' }).stdout.trim(), join(bin, c));
    const cache = join(base, 'empty-cache');
    mkdirSync(cache);
    const noDebootstrap = kubeinstall(['lab', 'up', '--dir', dir], { ...RANGE3, PATH: bin, KUBEINSTALL_TESTBED_CACHE: cache });
    expect({ code: noDebootstrap.code, err: noDebootstrap.err }).toEqual({
      code: 2,
      err:
        'error: lab up: this machine is not ready, nothing was made:\n' +
        `  - no host image in ${cache} and no debootstrap to build one: apt-get install debootstrap ` +
        '(or point KUBEINSTALL_TESTBED_CACHE at a cache that has one)\n',
    });
    expect(readdirSync(cache)).toEqual([]);
    nothingMade();

    // Both labs hold the two /24s of this range.
    const full = kubeinstall(['lab', 'up', '--dir', dir], RANGE2);
    expect({ code: full.code, err: full.err }).toEqual({
      code: 2,
      err:
        'error: lab up: this machine is not ready, nothing was made:\n' +
        '  - no free /24 in the lab range 198.18.70.0/23: each is on an interface or route of this machine (kubeinstall lab down a lab you no longer need)\n',
    });
    nothingMade();

    // Masters and nodes without the Kubernetes binaries: never stand-ins, an etcd-only lab or --binaries.
    expect(kubeinstall(['lab', 'up', '--dir', dir, '--masters', '1'], RANGE3)).toMatchObject({
      code: 2,
      err: 'error: masters and nodes need the Kubernetes binaries: --binaries DIR (without it the lab is etcd-only: --etcd N)\n',
    });
    nothingMade();

    // A lab's folder is its own: one that holds a lab already is refused.
    expect(kubeinstall(['lab', 'up', '--dir', LAB1], RANGE2)).toMatchObject({ code: 2, err: expect.stringMatching(/holds a lab already/) });
  });

  it('lab down leaves no bridge, mount, cgroup or process of its own (checked by name and pid), and removes the folder', () => {
    for (const [dir, s] of [
      [LAB2, made[1]!],
      [LAB1, made[0]!],
    ] as const) {
      expect(leftovers(s)).not.toEqual([]); // running: the check sees them
      const down = kubeinstall(['lab', 'down', '--dir', dir]);
      expect(down, down.err).toMatchObject({ code: 0, out: `lab down: ${s.hosts.length} hosts stopped, bridge ${s.bridge} and ${quote(dir)} removed\n` });
      expect(leftovers(s)).toEqual([]);
      expect(existsSync(dir)).toBe(false);
    }
    expect(kubeinstall(['lab', 'status', '--dir', LAB1])).toMatchObject({ code: 2, err: expect.stringMatching(/no lab in .* \(no lab\.json\)/) });
  });
});
