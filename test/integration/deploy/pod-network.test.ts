// End to end on the test bed (198.18.62.0/24, hosts that run real containers): the bridge pod network with real
// containerd, runc and the reference CNI plugins. 3 masters (+etcd) and 2 nodes: each kubelet host gets its own pod
// subnet from podCidr; containers started on n1 and n2 through the deployed CNI config (ctr run --cni) get addresses
// from their host's subnet, reach each other across hosts by pod address, and reach a master; after n2 reboots its
// routes come back and the check passes again; a third node gets the next subnet, the others a route to it, and
// nothing restarts. The images (busybox, the pause stand-in) come from the binaries folder's images/ as on an offline
// site, and deploy ends only when every Node is Ready (no --allow-not-ready): the stand-in kubelet, as the real one,
// is Ready only with a CNI config naming plugins the host has and the sandbox image in containerd.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadInventory } from '../../../src/inventory/load.js';
import { POD_SUBNETS_FILE } from '../../../src/network/pod-subnets.js';
import { clusterImages } from '../../../src/render/images.js';
import { HOST_PATHS } from '../../../src/render/paths.js';
import { bridgeConfPath, POD_BRIDGE, POD_ROUTE_PROTO } from '../../../src/render/pod-network.js';
import { UNITS } from '../../../src/render/units.js';
import { cidrContains, parseCidr, type ParsedCidr } from '../../../src/util/ip.js';
import { busyboxImage, pauseImage, writeTestImage } from '../../images/test-image.js';
import { kubeinstall } from '../kubeinstall.js';
import { run, startSetting, TESTBED_IGNORED_CHECKS, type BedHost, type Setting } from './fixtures.js';

const MASTERS: BedHost[] = [1, 2, 3].map((n) => ({ name: `m${n}`, address: `198.18.62.${10 + n}`, roles: ['etcd', 'master'] }));
const NODES: BedHost[] = [1, 2].map((n) => ({ name: `n${n}`, address: `198.18.62.${20 + n}`, roles: ['node'] }));
const N3: BedHost = { name: 'n3', address: '198.18.62.23', roles: ['node'] };
const IMAGE = 'registry.test/busybox:1';
const PORT = 8080;
let s: Setting;
/** Every command of the cross-node check and its output, for the record. */
const transcript: string[] = [];

const kubectl = async (...args: string[]): Promise<string> =>
  (await run('kubectl', ['--kubeconfig', join(s.clusterDir, 'kubeconfigs/admin.conf'), ...args])).stdout;
const exec = async (host: string, command: string): Promise<string> => {
  const r = await s.tb.hostExec(host, command, { timeoutMs: 60_000 });
  transcript.push(`${host}# ${command}`, ...r.stdout.trimEnd().split('\n').filter(Boolean));
  return r.stdout;
};
/** A container in its own network namespace through the deployed CNI config (ctr reads the first file of /etc/cni/net.d),
 * in a systemd cgroup as the deployed containerd makes them; its shell ends on SIGTERM, so a reboot does not wait for it. */
const ctrRun = (host: string, name: string, script: string, detach: boolean): Promise<string> =>
  exec(
    host,
    `ctr -n k8s.io run ${detach ? '-d' : '--rm'} --cni --runc-systemd-cgroup --cgroup ki.slice:ctr:${name} ${IMAGE} ${name} ` +
      `/bin/sh -c '${script.replaceAll("'", `'"'"'`)}'`,
  );
const podIp = async (host: string, name: string): Promise<string> =>
  /inet (\S+)\//.exec(await exec(host, `ctr -n k8s.io task exec --exec-id ip-${Date.now()} ${name} ip -4 -o addr show eth0`))?.[1] ?? '';
/** A server answering `pong` on PORT to every connection. */
const startServer = (host: string, name: string): Promise<string> =>
  ctrRun(host, name, `trap "exit 0" TERM; while true; do echo pong | nc -l -p ${PORT} >/dev/null; done & wait`, true);
const subnets = async (): Promise<Record<string, string>> => JSON.parse(await readFile(join(s.clusterDir, POD_SUBNETS_FILE), 'utf8')).hosts;
const podRoutes = async (host: string): Promise<string[]> =>
  (await s.tb.hostExec(host, `ip -4 route show proto ${POD_ROUTE_PROTO}`)).stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .sort();
const routesTo = (hosts: readonly BedHost[], all: Record<string, string>): string[] => hosts.map((h) => `${all[h.name]} via ${h.address} dev host0`).sort();
/** What would show a restart of the node's services: their main process and since when they run. */
const serviceStarts = async (host: string): Promise<string> =>
  (await s.tb.hostExec(host, `systemctl show -p MainPID -p ActiveEnterTimestamp ${UNITS.containerd} ${UNITS.kubelet} ${UNITS.kubeProxy} ${UNITS.podRoutes}`))
    .stdout;

/** n1's client reaches the server on n2 by its pod address, and a master's sshd by the master's address. */
const crossNodeCheck = async (serverIp: string, client: string): Promise<void> => {
  const out = await ctrRun(
    'n1',
    client,
    `ip -4 -o addr show eth0; echo ping | nc -w 5 ${serverIp} ${PORT}; nc -w 5 ${MASTERS[0]!.address} 22 </dev/null | head -c 8`,
    false,
  );
  const all = await subnets();
  const clientIp = /inet (\S+)\//.exec(out)?.[1] ?? '';
  expect(cidrContains(parseCidr(all.n1!) as ParsedCidr, clientIp), `${clientIp} in n1's ${all.n1}`).toBe(true);
  expect(out).toContain('pong');
  expect(out).toContain('SSH-2.0-');
};

/** Every Node's Ready condition, as `kubectl get nodes` reads it. */
const readyNodes = async (): Promise<Record<string, string>> =>
  Object.fromEntries(
    (await kubectl('get', 'nodes', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}'))
      .trim()
      .split('\n')
      .map((l) => l.split('=') as [string, string]),
  );
/** A deploy that must end with every Node Ready, and must find the pause image in images/ (no check ignored for it). */
const deployReady = () => s.deploy({ allowNotReady: false, ignorePreflight: new Set([...TESTBED_IGNORED_CHECKS].filter((c) => c !== 'images')) });

beforeAll(async () => {
  s = await startSetting({ name: 'podnet', subnet: '198.18.62.0/24' }, [...MASTERS, ...NODES], { bedOnly: [N3], containers: true });
  await mkdir(join(s.binariesDir, 'images'));
  writeTestImage(pauseImage(clusterImages((await loadInventory(s.inventory)).model!).pause), join(s.binariesDir, 'images/pause.tar'));
  writeTestImage(busyboxImage(IMAGE), join(s.binariesDir, 'images/busybox.tar'));
});
afterAll(async () => {
  if (transcript.length) await writeFile(join(process.env.KUBEINSTALL_TRANSCRIPT_DIR ?? '/tmp', 'pod-network-transcript.txt'), `${transcript.join('\n')}\n`);
  await s?.stop();
});

describe('bridge pod network: 3 masters (+etcd), 2 nodes, real containerd, runc and CNI plugins', () => {
  let serverIp = '';

  it('deploys: a pod subnet per kubelet host, its CNI config, and routes to every other host; every Node Ready; kube-dns on the 10th IP', async () => {
    await deployReady();
    expect(await readyNodes()).toEqual({ m1: 'True', m2: 'True', m3: 'True', n1: 'True', n2: 'True' });
    expect(await kubectl('get', 'service', '-n', 'kube-system', 'kube-dns', '-o', 'jsonpath={.spec.clusterIP}')).toBe('198.19.0.10');
    const all = await subnets();
    expect(all).toEqual({
      m1: '198.19.128.0/24',
      m2: '198.19.129.0/24',
      m3: '198.19.130.0/24',
      n1: '198.19.131.0/24',
      n2: '198.19.132.0/24',
    });
    const kubelets = [...MASTERS, ...NODES];
    for (const h of kubelets) {
      expect(await podRoutes(h.name), h.name).toEqual(
        routesTo(
          kubelets.filter((o) => o !== h),
          all,
        ),
      );
      expect(JSON.parse((await s.tb.hostExec(h.name, `cat ${bridgeConfPath}`)).stdout).ipam.ranges).toEqual([
        [{ subnet: all[h.name], gateway: expect.any(String) }],
      ]);
      expect((await s.tb.hostExec(h.name, 'cat /proc/sys/net/ipv4/ip_forward')).stdout.trim(), h.name).toBe('1');
    }
    expect((await s.tb.hostExec('n1', `cat ${HOST_PATHS.containerdConfig}`)).stdout).toContain('bin_dir = "/opt/cni/bin"');
    // each Node's podCIDR is its recorded subnet (the controller-manager allocates none)
    for (const h of kubelets) expect(await kubectl('get', 'node', h.name, '-o', 'jsonpath={.spec.podCIDR}'), h.name).toBe(all[h.name]);
  });

  it("a container on n1 reaches one on n2 by pod address, and a master's address", async () => {
    await startServer('n2', 'srv');
    serverIp = await podIp('n2', 'srv');
    expect(cidrContains(parseCidr((await subnets()).n2!) as ParsedCidr, serverIp), `${serverIp} in n2's subnet`).toBe(true);
    await crossNodeCheck(serverIp, 'cli');
  });

  it('after n2 reboots, its routes and bridge come back and the check passes again', async () => {
    await s.tb.reboot('n2');
    const all = await subnets();
    expect(await podRoutes('n2')).toEqual(routesTo([...MASTERS, NODES[0]!], all));
    await exec('n2', 'ctr -n k8s.io containers rm srv');
    await startServer('n2', 'srv2');
    expect((await s.tb.hostExec('n2', `ip -4 -o addr show dev ${POD_BRIDGE}`)).stdout).toContain(`${all.n2!.replace(/0\/24$/, '1')}/24`);
    serverIp = await podIp('n2', 'srv2');
    await crossNodeCheck(serverIp, 'cli2');
  });

  it('a third node gets the next free subnet, every other host a route to it (a reload), nothing restarts; a re-run changes nothing', async () => {
    const before = await Promise.all(['m1', 'n1', 'n2'].map(serviceStarts));
    await s.setHosts([...MASTERS, ...NODES, N3]);
    const result = await deployReady();
    expect((await readyNodes()).n3).toBe('True');
    const all = await subnets();
    expect(all.n3).toBe('198.19.133.0/24');
    for (const h of [...MASTERS, ...NODES]) expect(await podRoutes(h.name), h.name).toContain(`${all.n3} via ${N3.address} dev host0`);
    expect(await Promise.all(['m1', 'n1', 'n2'].map(serviceStarts))).toEqual(before);
    for (const h of result.summary.hosts.filter((x) => x.name !== 'n3')) expect([h.restarted, h.reloaded], h.name).toEqual([[], [UNITS.podRoutes]]);
    const out = await ctrRun('n3', 'cli3', `echo ping | nc -w 5 ${serverIp} ${PORT}`, false);
    expect(out).toContain('pong');
    // and a re-run changes nothing
    const again = await deployReady();
    expect([again.summary.filesUploaded, again.summary.servicesRestarted, again.summary.hosts.flatMap((h) => h.reloaded)]).toEqual([0, 0, []]);
  });

  it('refuses a podCidr too small for the kubelet hosts, and a network manifest that does not parse, naming them (exit 2)', async () => {
    const inventory = await readFile(s.inventory, 'utf8');
    const small = join(s.dir, 'small.yaml');
    await writeFile(small, inventory.replace('podCidr: 198.19.128.0/17', 'podCidr: 198.19.128.0/22'));
    const tooSmall = kubeinstall(['inventory', 'check', '-i', small]);
    expect(tooSmall.code).toBe(2);
    expect(tooSmall.err).toMatch(/cluster\.podCidr.*198\.19\.128\.0\/22 holds 4 \/24 pod subnets, fewer than the 6 kubelet hosts/);
    const manifest = join(s.dir, 'calico.yaml');
    await writeFile(manifest, 'kind: DaemonSet\nmetadata: {name: [oops\n');
    const withManifest = join(s.dir, 'manifest.yaml');
    await writeFile(
      withManifest,
      inventory.replace('podCidr: 198.19.128.0/17', `podCidr: 198.19.128.0/17\n  network:\n    plugin: manifest\n    manifest: ${manifest}`),
    );
    const bad = kubeinstall(['deploy', '-i', withManifest]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain(`cluster.network.manifest: error: ${manifest}: not valid YAML`);
  });
});
