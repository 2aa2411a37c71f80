// A whole cluster on a lab: 3 masters (+etcd) and 2 nodes from `lab up --binaries DIR`, where this test puts
// the stand-ins for the Kubernetes components (test/standins: the lab itself never does) beside a real
// kubectl; etcd, containerd and runc are the machine's, as lab up copies them. certs and deploy run as lab up
// says, and the API answers through the admin kubeconfig; lab down leaves nothing of its hosts (booted
// ready for containers). Subnet 198.18.74.0/24 (KUBEINSTALL_LAB_SUBNETS).
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import type { LabState } from '../../../src/lab/state.js';
import { DEFAULT_KUBERNETES_VERSION } from '../../../src/versions.js';
import { buildStandins } from '../../standins/build.js';
import { kubeinstall } from '../kubeinstall.js';
import { leftovers } from './leftovers.js';

const run = promisify(execFile);
const base = mkdtempSync(join(tmpdir(), 'kubeinstall-lab-full-e2e-'));
const LAB = join(base, 'lab');
const RANGE = { KUBEINSTALL_LAB_SUBNETS: '198.18.74.0/24' };
const NODE_UNITS = ['containerd', 'kubelet', 'kube-proxy'];
const MASTER_UNITS = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', ...NODE_UNITS];
// Several masters and no endpoint: node-local, so a worker also runs its load balancer.
const WORKER_UNITS = [...NODE_UNITS, 'kube-lb'];

afterAll(() => {
  if (existsSync(join(LAB, 'lab.json'))) kubeinstall(['lab', 'down', '--dir', LAB]);
  rmSync(base, { recursive: true, force: true });
});

describe('kubeinstall lab with --binaries', () => {
  it('3 masters + 2 nodes: lab up, certs and deploy as lab up says; every service active, /readyz through admin.conf', async () => {
    const binaries = join(base, 'k8s');
    mkdirSync(binaries);
    await buildStandins(binaries, DEFAULT_KUBERNETES_VERSION);
    copyFileSync('/usr/bin/kubectl', join(binaries, 'kubectl'));

    const up = kubeinstall(['lab', 'up', '--dir', LAB, '--binaries', binaries, '--masters', '3', '--nodes', '2'], RANGE);
    expect(up, up.err).toMatchObject({ code: 0, out: expect.stringMatching(/^lab up: 5 hosts running on bridge kitb-lab-[0-9a-f]{6} \(198\.18\.74\.0\/24\)/) });
    expect(up.out).toMatch(/^ {2}master-1 +198\.18\.74\.11 +etcd,master$/m);
    expect(up.out).toMatch(/^ {2}node-2 +198\.18\.74\.15 +node$/m);
    // Debian's etcd and containerd, no iptables in the image, no pause image, no pod network: named, with why, in the deploy line.
    const deployLine = /^ {2}kubeinstall (deploy .*)$/m.exec(up.out)![1]!.split(' ');
    expect(deployLine.slice(-2)).toEqual(['--ignore-preflight-errors=etcd-version,containerd-version,node-commands,images', '--allow-not-ready']);
    expect(up.out).toMatch(/^ {4}\(--allow-not-ready: no pause image for containerd/m);

    const inventory = join(LAB, 'inventory.yaml');
    expect(kubeinstall(['certs', '-i', inventory]).code).toBe(0);
    const deploy = kubeinstall(deployLine.map((w) => (w.endsWith('inventory.yaml') ? inventory : w)));
    expect(deploy, deploy.err).toMatchObject({ code: 0, out: expect.stringMatching(/Deploy complete: \d+ file\(s\) uploaded, \d+ service\(s\) restarted/) });
    // The pod network is there (the bridge plugin from the lab's cni/), the pause image is not: NotReady, accepted as a note.
    expect(deploy.out + deploy.err).toMatch(/SandboxImageMissing/);

    const { stdout } = await run('kubectl', ['--kubeconfig', join(LAB, 'cluster/kubeconfigs/admin.conf'), 'get', '--raw', '/readyz']);
    expect(stdout.trim()).toBe('ok');
    for (const [host, units] of [
      ['master-1', MASTER_UNITS],
      ['master-3', MASTER_UNITS],
      ['node-1', WORKER_UNITS],
      ['node-2', WORKER_UNITS],
    ] as const) {
      const r = kubeinstall(['lab', 'ssh', host, '--dir', LAB, '--', `systemctl is-active ${units.join(' ')}`]);
      expect(r.out.trim().split('\n'), host).toEqual(units.map(() => 'active'));
    }
    const state = JSON.parse(readFileSync(join(LAB, 'lab.json'), 'utf8')) as LabState;
    expect(state.hosts.every((h) => h.containers)).toBe(true);
    expect(kubeinstall(['lab', 'down', '--dir', LAB]).code).toBe(0);
    expect(leftovers(state)).toEqual([]);
  });
});
