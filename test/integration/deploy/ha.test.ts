// End to end on the test bed: the HA shape (3 masters that are also etcd members, 2 nodes) with real
// etcd, containerd and systemd and stand-ins for the Kubernetes components (test/standins), on
// 198.18.22.31-36, each host with its own network. Deploy, re-run without changes, add a node, reboot a host during the upload.
import { createDecipheriv, randomBytes } from 'node:crypto';
import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpsRequest } from '../../../src/deploy/api-client.js';
import { PhaseFailed } from '../../../src/deploy/manager.js';
import { ENCRYPTION_KEY_FILE, parseEncryptionKey } from '../../../src/pki/encryption.js';
import { run, startSetting, type BedHost, type Setting } from './fixtures.js';

const MASTERS: BedHost[] = [1, 2, 3].map((n) => ({ name: `m${n}`, address: `198.18.22.${30 + n}`, roles: ['etcd', 'master'] }));
const NODES: BedHost[] = [1, 2].map((n) => ({ name: `n${n}`, address: `198.18.22.${33 + n}`, roles: ['node'] }));
const EXTRA_NODE: BedHost = { name: 'n3', address: '198.18.22.36', roles: ['node'] };
const NODE_UNITS = ['containerd.service', 'kubelet.service', 'kube-proxy.service'];
// A master runs the node services too (a tainted node).
/** The bridge pod network's routes, on every kubelet host. */
const POD_ROUTES = 'kubeinstall-pod-routes.service';
const MASTER_UNITS = ['etcd.service', 'kube-apiserver.service', 'kube-controller-manager.service', 'kube-scheduler.service', ...NODE_UNITS, POD_ROUTES];
// Several masters and no endpoint: node-local, so a worker also runs its load balancer.
const WORKER_UNITS = [...NODE_UNITS, 'kube-lb.service', POD_ROUTES];
let s: Setting;

const kubectl = async (...args: string[]): Promise<string> =>
  (await run('kubectl', ['--kubeconfig', join(s.clusterDir, 'kubeconfigs/admin.conf'), ...args])).stdout;

const activeUnits = async (host: string, units: readonly string[]): Promise<string[]> => {
  const { stdout } = await s.tb.hostExec(host, `systemctl is-active ${units.join(' ')} || true`);
  return stdout.trim().split('\n');
};

const expectHealthy = async (hosts: readonly BedHost[]): Promise<void> => {
  expect((await kubectl('get', '--raw', '/readyz')).trim()).toBe('ok');
  for (const h of hosts) {
    const units = h.roles.includes('node') ? WORKER_UNITS : MASTER_UNITS;
    expect(await activeUnits(h.name, units), h.name).toEqual(units.map(() => 'active'));
  }
};

beforeAll(async () => {
  s = await startSetting({ name: 'ha', subnet: '198.18.22.0/24' }, [...MASTERS, ...NODES], { bedOnly: [EXTRA_NODE] });
});
afterAll(async () => {
  await s?.stop();
});

describe('HA inventory: 3 masters (+etcd), 2 nodes', () => {
  it('deploys: every service active under systemd, /readyz through kubectl with admin.conf, RBAC applied', async () => {
    const result = await s.deploy();
    expect(result.summary.hosts.map((h) => [h.name, h.restarted])).toEqual([
      ...MASTERS.map((m) => [m.name, MASTER_UNITS]),
      ...NODES.map((n) => [n.name, WORKER_UNITS]),
    ]);
    await expectHealthy([...MASTERS, ...NODES]);
    const binding = JSON.parse(await kubectl('get', '--raw', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/kubeadm:cluster-admins'));
    expect(binding.roleRef.name).toBe('cluster-admin');
  });

  it('applies the net.* sysctls on each node (its own network namespace), and says what it changed', async () => {
    const prepared = await s.deploy({ phases: new Set(['connect', 'facts', 'prepare']) });
    for (const n of NODES) {
      expect((await s.tb.hostExec(n.name, 'cat /proc/sys/net/ipv4/ip_forward')).stdout.trim(), n.name).toBe('1');
      const notes = prepared.summary.hosts.find((h) => h.name === n.name)!.notes.join('\n');
      expect(notes, n.name).not.toMatch(/could not change sysctls/);
    }
  });

  it("runs the API server with --kubelet-certificate-authority, which every kubelet's serving certificate satisfies", async () => {
    for (const m of MASTERS) {
      const { stdout } = await s.tb.hostExec(m.name, 'cat /proc/$(systemctl show -p MainPID --value kube-apiserver.service)/cmdline | tr "\\0" "\\n"');
      expect(stdout.split('\n'), m.name).toContain('--kubelet-certificate-authority=/etc/kubernetes/pki/ca.crt');
    }
    // What the API server does for exec, logs and port-forward: connect to the node's address, verify with the cluster CA.
    const pki = (f: string) => readFile(join(s.clusterDir, 'pki', f), 'utf8');
    const creds = {
      clusterName: 'e2e',
      server: '',
      user: 'kube-apiserver-kubelet-client',
      caPem: await pki('ca.crt'),
      certPem: await pki('apiserver-kubelet-client.crt'),
      keyPem: await pki('apiserver-kubelet-client.key'),
    };
    for (const n of NODES) expect((await httpsRequest(`https://${n.address}:10250/healthz`, creds)).status, n.name).toBe(200);
  });

  it('encrypts Secrets at rest: etcd holds only the aescbc value, kubectl reads the Secret back', async () => {
    const value = `e2e-${randomBytes(12).toString('hex')}`;
    await kubectl('create', 'secret', 'generic', 'at-rest', `--from-literal=password=${value}`);
    const got = JSON.parse(await s.etcdctl([`https://${MASTERS[2]!.address}:2379`], 'get', '/registry/secrets/default/at-rest', '-w', 'json'));
    const stored = Buffer.from(got.kvs[0].value, 'base64');
    const prefix = 'k8s:enc:aescbc:v1:key1:';
    expect(stored.subarray(0, prefix.length).toString()).toBe(prefix);
    for (const plain of [value, Buffer.from(value).toString('base64'), 'at-rest']) expect(stored.includes(plain), plain).toBe(false);
    // The value is what the real API server writes: a 16-byte IV, then AES-256-CBC with PKCS#7 padding.
    const key = parseEncryptionKey(await readFile(join(s.clusterDir, ENCRYPTION_KEY_FILE)))!;
    const decipher = createDecipheriv('aes-256-cbc', key, stored.subarray(prefix.length, prefix.length + 16));
    const plaintext = Buffer.concat([decipher.update(stored.subarray(prefix.length + 16)), decipher.final()]);
    // The real API server stores protobuf (the value's bytes), the stand-in JSON (base64): either way, this Secret.
    const encoded = Buffer.from(value).toString('base64');
    expect([plaintext.includes('at-rest'), plaintext.includes(value) || plaintext.includes(encoded)]).toEqual([true, true]);
    expect(await kubectl('get', 'secret', 'at-rest', '-o', 'jsonpath={.data.password}')).toBe(encoded);
  });

  it('re-runs with 0 files uploaded and 0 services restarted', async () => {
    const result = await s.deploy();
    expect([result.summary.filesUploaded, result.summary.servicesRestarted]).toEqual([0, 0]);
  });

  it('a changed binary: dry-run shows the upload and restart and changes nothing; the run restarts only that service', async () => {
    await appendFile(join(s.binariesDir, 'kube-proxy'), '\n# a new build\n');
    const dry = await s.deploy({ dryRun: true });
    expect([dry.summary.filesUploaded, dry.summary.servicesRestarted]).toEqual([0, 0]);
    for (const n of [...MASTERS, ...NODES]) {
      expect(dry.dryRunLines).toContainEqual(
        expect.stringMatching(new RegExp(`^${n.name}: would upload 1 of \\d+ files .*then restart kube-proxy.service: /usr/local/bin/kube-proxy$`)),
      );
      expect(dry.dryRunLines).toContain(`${n.name}: would start kube-proxy.service`);
    }
    const real = await s.deploy();
    expect(real.summary.hosts.map((h) => [h.name, h.uploaded, h.restarted])).toEqual([...MASTERS, ...NODES].map((h) => [h.name, 1, ['kube-proxy.service']]));
    await expectHealthy([...MASTERS, ...NODES]);
  });

  it('adds a node: only the new host gets files and services; the others only a route to its pods (a reload)', async () => {
    await s.setHosts([...MASTERS, ...NODES, EXTRA_NODE]);
    const result = await s.deploy();
    const byName = new Map(result.summary.hosts.map((h) => [h.name, h]));
    expect(byName.get('n3')!.restarted).toEqual(WORKER_UNITS);
    for (const h of [...MASTERS, ...NODES]) {
      const { uploaded, restarted, reloaded } = byName.get(h.name)!;
      expect([h.name, uploaded, restarted, reloaded]).toEqual([h.name, 1, [], [POD_ROUTES]]);
    }
    await expectHealthy([...MASTERS, ...NODES, EXTRA_NODE]);
  });

  it('a host rebooted during the upload fails the run naming it; the next run completes', async () => {
    // A new kubelet, 4 MiB larger, sent to n1 at 2 Mbit/s: its upload takes over 16 s, so it is still
    // running when the reboot lands, however fast the machine.
    await appendFile(join(s.binariesDir, 'kubelet'), `\n${'#'.repeat(1023)}\n`.repeat(4 * 1024));
    const unthrottle = await s.tb.throttle('n1', 2_000);
    const pending = '/var/lib/kubeinstall/pending-restart/kubelet.service';
    const deploying = s.deploy().then(
      () => undefined,
      (err: unknown) => err,
    );
    // The marker is written just before the upload starts.
    while ((await s.tb.hostExec('n1', `test -e ${pending}`, { allowFailure: true })).code !== 0) {
      await new Promise((r) => setTimeout(r, 50));
    }
    await s.tb.reboot('n1');
    const err = await deploying;
    await unthrottle();
    expect(err).toBeInstanceOf(PhaseFailed);
    expect((err as PhaseFailed).phase).toBe('upload');
    expect((err as PhaseFailed).failures.map((f) => f.host)).toEqual(['n1']);

    const again = await s.deploy();
    expect(again.summary.hosts.find((h) => h.name === 'n1')!.restarted).toContain('kubelet.service');
    await expectHealthy([...MASTERS, ...NODES, EXTRA_NODE]);
  });
});
