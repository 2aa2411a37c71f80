// End to end on the test bed (198.18.40.0/24, bridge `listen`): one master (+etcd) and one node. Each
// component listens where kubeadm's does (docs/render.md): kube-apiserver on every address of the master
// (127.0.0.1 and a second address standing for a VIP), controller-manager, scheduler, kubelet and
// kube-proxy health and etcd metrics on 127.0.0.1 only. Then the masters are reached only through a
// bastion (the runner's packets to them are dropped): readyz and RBAC apply run on the master.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadInventory } from '../../../src/inventory/load.js';
import { POD_SUBNETS_FILE } from '../../../src/network/pod-subnets.js';
import { generatePki } from '../../../src/pki/generate.js';
import { run, startSetting, type BedHost, type Setting } from './fixtures.js';

const MASTER: BedHost = { name: 'm1', address: '198.18.40.2', roles: ['etcd', 'master'] };
const NODE: BedHost = { name: 'n1', address: '198.18.40.3', roles: ['node'] };
const BASTION: BedHost = { name: 'jump', address: '198.18.40.4', roles: [] };
const RUNNER = '198.18.40.1';
const VIP = '198.18.40.100';

let s: Setting;

/** Rewrites the inventory the setting wrote, then re-makes the PKI from it. */
const editInventory = async (edit: (inv: Record<string, any>) => void): Promise<void> => {
  const inv = yaml.load(await readFile(s.inventory, 'utf8')) as Record<string, any>;
  edit(inv);
  await writeFile(s.inventory, yaml.dump(inv));
  await generatePki((await loadInventory(s.inventory)).model, s.clusterDir);
};

// On the host: GET the URL and print the status, or the connection error's name. `ca` verifies the
// server (chain and name), else any certificate is accepted.
const GET_PY = `import ssl, sys, urllib.request, urllib.error
url, ca = sys.argv[1], sys.argv[2]
ctx = ssl.create_default_context(cafile=ca) if ca else ssl._create_unverified_context()
try:
    print(urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=ctx)).open(url, timeout=5).status)
except urllib.error.HTTPError as e:
    print(e.code)
except urllib.error.URLError as e:
    print(type(e.reason).__name__)`;

const getOn = async (host: string, url: string, ca = ''): Promise<string> =>
  (await s.tb.hostExec(host, `python3 -c '${GET_PY}' '${url}' '${ca}'`)).stdout.trim();

/** Whether a TCP connection from the runner to address:port is accepted within 3 s. */
const reachableFromRunner = (address: string, port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const sock = connect({ host: address, port, timeout: 3000 });
    const done = (ok: boolean) => () => {
      sock.destroy();
      resolve(ok);
    };
    sock.once('connect', done(true)).once('timeout', done(false)).once('error', done(false));
  });

beforeAll(async () => {
  s = await startSetting({ name: 'listen', subnet: '198.18.40.0/24' }, [MASTER, NODE], { bedOnly: [BASTION] });
  // Nothing deployed yet: this cluster takes other ranges than the setting's, so the pod subnets recorded for those go.
  await rm(join(s.clusterDir, POD_SUBNETS_FILE));
  await editInventory((inv) => {
    inv.cluster.apiServerExtraSans = [VIP];
    inv.cluster.serviceCidr = '198.19.40.0/24';
    inv.cluster.podCidr = '198.19.64.0/18';
  });
}, 600_000);
afterAll(async () => {
  await s?.stop();
});

describe('listeners', () => {
  it('deploys, and kube-apiserver answers on 127.0.0.1 and on a VIP added to the master, with the cluster CA', async () => {
    await s.deploy();
    await s.tb.hostExec(MASTER.name, `ip addr add ${VIP}/24 dev host0`);
    const ca = '/etc/kubernetes/pki/ca.crt';
    expect(await getOn(MASTER.name, 'https://127.0.0.1:6443/readyz', ca)).toBe('200');
    expect(await getOn(MASTER.name, `https://${VIP}:6443/readyz`, ca)).toBe('200');
    const admin = join(s.clusterDir, 'kubeconfigs/admin.conf');
    const { stdout } = await run('kubectl', ['--kubeconfig', admin, '--server', `https://${VIP}:6443`, 'get', '--raw', '/readyz']);
    expect(stdout.trim()).toBe('ok');
  });

  it('controller-manager and scheduler answer on 127.0.0.1 and not on the internal address', async () => {
    for (const port of [10257, 10259]) {
      expect(await getOn(MASTER.name, `https://127.0.0.1:${port}/healthz`)).toBe('200');
      expect(await getOn(MASTER.name, `https://${MASTER.address}:${port}/healthz`)).toBe('ConnectionRefusedError');
    }
  });

  it('kubelet and kube-proxy health answer on 127.0.0.1 only; the kubelet API stays on the internal address', async () => {
    for (const port of [10248, 10256]) {
      expect(await getOn(NODE.name, `http://127.0.0.1:${port}/healthz`)).toBe('200');
      expect(await getOn(NODE.name, `http://${NODE.address}:${port}/healthz`)).toBe('ConnectionRefusedError');
    }
    expect(await reachableFromRunner(NODE.address, 10250)).toBe(true);
  });

  it('etcd serves metrics on 127.0.0.1:2381 only, clients on the internal address', async () => {
    expect(await getOn(MASTER.name, 'http://127.0.0.1:2381/metrics')).toBe('200');
    expect(await getOn(MASTER.name, `http://${MASTER.address}:2381/metrics`)).toBe('ConnectionRefusedError');
    expect(await reachableFromRunner(MASTER.address, 2379)).toBe(true);
  });
});

describe('masters reached only through a bastion', () => {
  it('probes readyz and applies RBAC on the master, and the other probes on the hosts', async () => {
    await editInventory((inv) => {
      inv.ssh.bastion = { address: BASTION.address, user: 'root', identityFile: inv.ssh.identityFile, hostKeyPolicy: 'strict' };
    });
    // The master and the node drop what they would answer the runner: only the bastion reaches them.
    for (const h of [MASTER, NODE]) await s.tb.hostExec(h.name, `ip route add blackhole ${RUNNER}/32`);
    expect(await reachableFromRunner(MASTER.address, 6443)).toBe(false);
    expect(await reachableFromRunner(MASTER.address, 22)).toBe(false);
    // Every control-plane unit starts again, so each is waited for (not only found running).
    await s.tb.hostExec(MASTER.name, 'systemctl stop kube-apiserver kube-controller-manager kube-scheduler');
    const result = await s.deploy({ healthTimeoutMs: 30_000 });
    expect(result.summary.hosts.find((h) => h.name === MASTER.name)?.restarted).toEqual(
      expect.arrayContaining(['kube-apiserver.service', 'kube-controller-manager.service', 'kube-scheduler.service']),
    );
    const log = await readFile(result.logPath, 'utf8');
    expect(log).toMatch(/apply RBAC on the master/);
    // The super-admin key went on stdin: not in the log.
    const superAdmin = yaml.load(await readFile(join(s.clusterDir, 'kubeconfigs/super-admin.conf'), 'utf8')) as any;
    const keyPem = Buffer.from(superAdmin.users[0].user['client-key-data'], 'base64').toString();
    expect(log).not.toContain(keyPem.split('\n')[1]);
  });
});
