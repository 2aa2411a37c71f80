// End to end on the test bed (198.18.64.0/24): cluster DNS and a deploy that waits for Ready Nodes. A master
// (+etcd, a node too) and a node with real containerd; the kubelet stand-in reports what the real kubelet would
// (NetworkPluginNotReady without a CNI config naming plugins the host has, NotReady without the pause image in
// containerd's k8s.io namespace, asked with the real ctr). Until issue 11's pod-network and images work deploy
// these, the test gives the hosts Debian's CNI plugins, a bridge config and the pause image itself.
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadInventory } from '../../../src/inventory/load.js';
import { COREDNS } from '../../../src/render/coredns.js';
import { clusterImages } from '../../../src/render/images.js';
import { HOST_PATHS, RESOLV_CONF } from '../../../src/render/paths.js';
import { pauseImage, writeTestImage } from '../../images/test-image.js';
import { kubeinstall } from '../kubeinstall.js';
import { run, startSetting, TESTBED_IGNORED_CHECKS, type BedHost, type Setting } from './fixtures.js';

const M1: BedHost = { name: 'm1', address: '198.18.64.11', roles: ['etcd', 'master', 'node'] };
const N1: BedHost = { name: 'n1', address: '198.18.64.12', roles: ['node'] };
const HOSTS = [M1, N1];
/** Each host's pod subnet, inside the fixture's podCidr 198.19.128.0/17. */
const POD_SUBNETS: Record<string, string> = { m1: '198.19.128.0/24', n1: '198.19.129.0/24' };
const CNI_PLUGINS = ['bridge', 'host-local', 'loopback', 'portmap'];
const IGNORED = `--ignore-preflight-errors=${[...TESTBED_IGNORED_CHECKS].join(',')}`;
let s: Setting;
let pauseRef: string;
let pauseTar: string;

const kubectl = async (...args: string[]): Promise<string> =>
  (await run('kubectl', ['--kubeconfig', join(s.clusterDir, 'kubeconfigs/admin.conf'), ...args])).stdout;

/** Each Node's Ready condition as `kubectl get nodes` reads it: name -> `status reason: message`. */
const readiness = async (): Promise<Record<string, string>> => {
  const path = '{range .items[*]}{.metadata.name}{"\\t"}{range .status.conditions[?(@.type=="Ready")]}{.status} {.reason}: {.message}{end}{"\\n"}{end}';
  const out = await kubectl('get', 'nodes', '-o', `jsonpath=${path}`);
  return Object.fromEntries(
    out
      .trim()
      .split('\n')
      .map((l) => l.split('\t') as [string, string]),
  );
};

/** Polls until every Node's Ready condition matches (the kubelet checks its runtime every 5 s). */
const waitForReadiness = async (pattern: RegExp, timeoutMs = 30_000): Promise<Record<string, string>> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = await readiness();
    if (HOSTS.every((h) => pattern.test(now[h.name] ?? '')) || Date.now() > deadline) return now;
    await new Promise((r) => setTimeout(r, 1000));
  }
};

const rootOf = (name: string): string => s.tb.hosts.find((h) => h.name === name)!.root;

/** What the pod-network work will deploy: the reference plugins in containerd's default bin_dir and a bridge config. */
const giveCni = async (name: string): Promise<void> => {
  const bin = join(rootOf(name), 'opt/cni/bin');
  const conf = join(rootOf(name), 'etc/cni/net.d');
  await mkdir(bin, { recursive: true });
  await mkdir(conf, { recursive: true });
  for (const p of CNI_PLUGINS) await copyFile(join('/usr/lib/cni', p), join(bin, p));
  const bridge = {
    cniVersion: '1.0.0',
    name: 'bridge',
    type: 'bridge',
    bridge: 'cni0',
    isGateway: true,
    ipMasq: false,
    ipam: { type: 'host-local', ranges: [[{ subnet: POD_SUBNETS[name] }]], routes: [{ dst: '0.0.0.0/0' }] },
  };
  await writeFile(join(conf, '10-bridge.conf'), JSON.stringify(bridge, null, 2));
};

beforeAll(async () => {
  s = await startSetting({ name: 'dnsready', subnet: '198.18.64.0/24' }, HOSTS);
  pauseRef = clusterImages((await loadInventory(s.inventory)).model).pause;
  pauseTar = join(s.dir, 'pause.tar');
  writeTestImage(pauseImage(pauseRef), pauseTar);
  // The kubelet stand-in asks containerd with ctr (Debian's, as the images work puts it among the node binaries).
  for (const h of HOSTS) await copyFile('/usr/bin/ctr', join(rootOf(h.name), 'usr/bin/ctr'));
}, 120_000);
afterAll(async () => {
  await s?.stop();
});

describe('cluster DNS and Ready Nodes', () => {
  it('without a pod network: --allow-not-ready deploys with a warning per Node; CoreDNS objects are stored, kube-dns on the tenth service IP', async () => {
    const result = await s.deploy({ allowNotReady: true });
    for (const h of HOSTS) {
      expect(result.summary.hosts.find((x) => x.name === h.name)?.notes.join('\n')).toMatch(
        new RegExp(`Node ${h.name} is NotReady \\(--allow-not-ready\\): Ready=False KubeletNotReady: .*reason:NetworkPluginNotReady`),
      );
      // no systemd-resolved in these hosts: the kubelet hands pods the plain resolv.conf
      expect((await s.tb.hostExec(h.name, `grep '^resolvConf:' ${HOST_PATHS.kubeletConfig}`)).stdout.trim()).toBe(`resolvConf: "${RESOLV_CONF.plain}"`);
    }
    expect(await kubectl('get', 'svc', '-n', 'kube-system', 'kube-dns', '-o', 'jsonpath={.spec.clusterIP}')).toBe('198.19.0.10');
    expect(await kubectl('get', 'cm', '-n', 'kube-system', 'coredns', '-o', 'jsonpath={.data.Corefile}')).toContain('kubernetes cluster.local in-addr.arpa');
    const deployment = JSON.parse(await kubectl('get', '--raw', '/apis/apps/v1/namespaces/kube-system/deployments/coredns'));
    expect([deployment.spec.replicas, deployment.spec.template.spec.containers[0].image]).toEqual([COREDNS.replicas, expect.stringMatching(/coredns:v/)]);
  });

  it('without --allow-not-ready, deploy exits 1 naming each NotReady Node with its Ready condition; with it, exits 0 and warns', () => {
    const failed = kubeinstall(['deploy', '-i', s.inventory, IGNORED, '--health-timeout', '3s']);
    expect(failed.code).toBe(1);
    expect(failed.err).toMatch(/verify failed on 2 host\(s\):/);
    for (const h of HOSTS) expect(failed.err).toMatch(new RegExp(`${h.name}: Node Ready: Node ${h.name} is not Ready after 3 s: Ready=False KubeletNotReady`));
    expect(failed.err).toMatch(/Conditions:\n\s+Type\s+Status\s+LastHeartbeatTime\s+LastTransitionTime\s+Reason\s+Message\n/);
    expect(failed.err).toContain('reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized');
    const allowed = kubeinstall(['deploy', '-i', s.inventory, IGNORED, '--allow-not-ready']);
    expect(allowed.code, allowed.err).toBe(0);
    for (const h of HOSTS) expect(allowed.out).toContain(`Node ${h.name} is NotReady (--allow-not-ready)`);
  });

  it('with a CNI config naming plugins the host has: NotReady until the pause image is in k8s.io, then Ready; deploy ends Ready', async () => {
    for (const h of HOSTS) await giveCni(h.name);
    const noImage = await waitForReadiness(/SandboxImageMissing/);
    for (const h of HOSTS)
      expect(noImage[h.name]).toBe(
        'False KubeletNotReady: container runtime not ready: RuntimeReady=false reason:SandboxImageMissing ' +
          `message:sandbox image ${pauseRef} is not in containerd's k8s.io namespace`,
      );
    // --no-unpack: the content is enough for containerd to list the image (unpacking needs /var/lib/containerd off the overlay root)
    const tar = await readFile(pauseTar);
    for (const h of HOSTS) await s.tb.hostExec(h.name, 'ctr -n k8s.io images import --no-unpack -', { input: tar });
    expect(await waitForReadiness(/^True /)).toEqual({
      m1: 'True KubeletReady: kubelet is posting ready status',
      n1: 'True KubeletReady: kubelet is posting ready status',
    });
    const result = await s.deploy({ allowNotReady: false });
    expect([result.summary.filesUploaded, result.summary.servicesRestarted]).toEqual([0, 0]);
    expect(result.summary.hosts.flatMap((h) => h.notes).filter((n) => /NotReady/.test(n))).toEqual([]);
    expect(await readiness()).toEqual({ m1: expect.stringMatching(/^True /), n1: expect.stringMatching(/^True /) });
  });
});
