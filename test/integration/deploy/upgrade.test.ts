// End to end on the test bed: `kubeinstall upgrade` of 3 masters (+etcd) and 2 nodes from 1.33 to 1.34 on
// 198.18.54.0/24, behind an HAProxy on its own host (apiEndpointKind loadbalancer, our kube-lb config), with
// each minor's stand-ins (each checks its own minor's flag table). A client probes the endpoint every 200 ms
// through the whole roll, which a node whose kubelet cannot start stops once (the re-run after the fix finishes
// it); the Nodes' cordons are watched through the API. A skip of a minor, a downgrade and a version change by
// plain `deploy` are refused before anything changes.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpsRequest } from '../../../src/deploy/api-client.js';
import { PhaseFailed } from '../../../src/deploy/manager.js';
import { UPGRADE_CORDON_ANNOTATION } from '../../../src/deploy/node-meta.js';
import { parseKubeconfig, type KubeconfigContent } from '../../../src/kubeconfig/kubeconfig.js';
import { renderAsset } from '../../../src/render/template.js';
import { UNITS } from '../../../src/render/units.js';
import { kubeinstall } from '../kubeinstall.js';
import { startEndpointProbe } from './endpoint-probe.js';
import { fillBinaries, startSetting, TESTBED_IGNORED_CHECKS, type BedHost, type Setting, HITLESS_ROLLS } from './fixtures.js';

const MASTERS: BedHost[] = [1, 2, 3].map((n) => ({ name: `m${n}`, address: `198.18.54.${10 + n}`, roles: ['etcd', 'master'] }));
const NODES: BedHost[] = [1, 2].map((n) => ({ name: `n${n}`, address: `198.18.54.${20 + n}`, roles: ['node'] }));
const LB: BedHost = { name: 'lb', address: '198.18.54.10', roles: [] };
const ENDPOINT = `https://${LB.address}:6443`;
/** The upgrade's test: each master's API server takes its shutdown delay to stop (about 60 s unloaded, twice that busy). */
const ROLL_TIMEOUT_MS = 180_000;
const BROKEN_DIR = `/etc/systemd/system/${UNITS.kubelet}.d`;
const [FROM, TO, SKIPPING] = ['1.33.5', '1.34.2', '1.35.0'];
const COMPONENTS: Readonly<Record<string, readonly string[]>> = {
  master: [UNITS.apiserver, UNITS.controllerManager, UNITS.scheduler, UNITS.kubelet, UNITS.kubeProxy],
  node: [UNITS.kubelet, UNITS.kubeProxy],
};
let s: Setting;
let admin: KubeconfigContent;

/** The inventory at another version, with that version's binaries folder (built once). */
const moveTo = async (version: string): Promise<void> => {
  const binariesDir = join(s.dir, `binaries-${version}`);
  await fillBinaries(binariesDir, true, version);
  const inv = yaml.load(await readFile(s.inventory, 'utf8')) as { cluster: Record<string, unknown> };
  inv.cluster.kubernetesVersion = version;
  inv.cluster.binariesDir = binariesDir;
  await writeFile(s.inventory, yaml.dump(inv));
};

const api = async (path: string, method = 'GET', body?: object) => {
  const res = await httpsRequest(`${ENDPOINT}${path}`, admin, { method, ...(body ? { body: JSON.stringify(body) } : {}) });
  return { status: res.status, json: res.status < 300 ? JSON.parse(res.body) : undefined };
};

/** The version each Kubernetes unit logged at its current start (its journal since systemd last started it). */
const runningVersions = async (host: BedHost): Promise<Record<string, string>> => {
  const units = COMPONENTS[host.roles.includes('master') ? 'master' : 'node']!;
  const script = units
    .map((u) => {
      const current = `_SYSTEMD_INVOCATION_ID=$(systemctl show -p InvocationID --value ${u})`;
      return `echo "${u}=$(journalctl -u ${u} ${current} -o cat | grep -o 'Version: v[0-9.]*' | tail -1)"`;
    })
    .join('; ');
  const { stdout } = await s.tb.hostExec(host.name, script);
  return Object.fromEntries(
    stdout
      .trim()
      .split('\n')
      .map((l) => l.split('=', 2) as [string, string]),
  );
};
const allAt = (version: string) =>
  Object.fromEntries(
    [...MASTERS, ...NODES].map((h) => [
      h.name,
      Object.fromEntries(COMPONENTS[h.roles.includes('master') ? 'master' : 'node']!.map((u) => [u, `Version: v${version}`])),
    ]),
  );
const versionsNow = async () => Object.fromEntries(await Promise.all([...MASTERS, ...NODES].map(async (h) => [h.name, await runningVersions(h)] as const)));

/** Polls every Node's spec.unschedulable; each Node's changes in order (false: schedulable). */
const watchCordons = () => {
  const seen = new Map<string, boolean[]>();
  let stopped = false;
  const poll = async (): Promise<void> => {
    const { json } = await api('/api/v1/nodes').catch(() => ({ json: undefined }));
    for (const n of (json?.items ?? []) as { metadata: { name: string }; spec?: { unschedulable?: boolean } }[]) {
      const states = seen.get(n.metadata.name) ?? [];
      const now = n.spec?.unschedulable === true;
      if (states[states.length - 1] !== now) seen.set(n.metadata.name, [...states, now]);
    }
  };
  const loop = (async () => {
    while (!stopped) {
      await poll();
      await new Promise((r) => setTimeout(r, 200));
    }
    await poll(); // the state the runs left, however soon after the last change they ended
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      return Object.fromEntries(seen);
    },
  };
};

beforeAll(async () => {
  s = await startSetting({ name: 'upgrade', subnet: '198.18.54.0/24' }, [...MASTERS, ...NODES], {
    bedOnly: [LB],
    cluster: { kubernetesVersion: FROM, apiEndpointKind: 'loadbalancer', apiEndpoint: `${LB.address}:6443`, ...HITLESS_ROLLS },
  });
  // Our own node-local balancer's config (health checks on /readyz, retries with redispatch), on the LB's address.
  const config = renderAsset('config/kube-lb.cfg', {
    bind: `${LB.address}:6443`,
    socket: '/run/haproxy/admin.sock',
    servers: MASTERS.map((m) => `    server ${m.name} ${m.address}:6443`).join('\n'),
  });
  await s.tb.hostExec(LB.name, 'cat > /etc/haproxy/haproxy.cfg && systemctl restart haproxy.service', { input: config });
}, 120_000);
afterAll(async () => {
  await s?.stop();
});

describe(`upgrade ${FROM} -> ${TO}: 3 masters (+etcd), 2 nodes, behind a load balancer`, () => {
  it(`deploys ${FROM}; a skip to ${SKIPPING} is refused before anything changes`, async () => {
    await s.deploy();
    admin = parseKubeconfig(await readFile(join(s.clusterDir, 'kubeconfigs/admin.conf'), 'utf8'));
    expect(await versionsNow()).toEqual(allAt(FROM));
    await moveTo(SKIPPING);
    const r = kubeinstall(['upgrade', '-i', s.inventory, '--ignore-preflight-errors', [...TESTBED_IGNORED_CHECKS, 'cgroups'].join(',')]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`[kubernetes-version] kubelet ${FROM} is installed here: ${SKIPPING} skips a minor`);
    expect(r.err).toContain(
      `[kubernetes-version] kube-apiserver ${FROM} is installed here: ${SKIPPING} skips a minor; upgrade one minor at a time (first to 1.34)`,
    );
    expect((await s.tb.hostExec('n1', '/usr/local/bin/kubelet --version')).stdout.trim()).toBe(`Kubernetes v${FROM}`);
  });

  it('plain deploy refuses a version change; upgrade --dry-run shows the roll and changes nothing', async () => {
    await moveTo(TO);
    await expect(s.deploy()).rejects.toThrow(`kubelet ${FROM} is installed here and the inventory says ${TO}: a version change is an upgrade`);
    const r = kubeinstall(['upgrade', '-i', s.inventory, '--dry-run', '--ignore-preflight-errors', [...TESTBED_IGNORED_CHECKS].join(',')]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Start the control plane \(rolling, 1 host\(s\) at a time\)/);
    expect(r.out).toMatch(/Start node services \(rolling, 1 host\(s\) at a time\)/);
    for (const n of [...MASTERS, ...NODES]) expect(r.out).toContain(`${n.name}: would cordon Node ${n.name} and evict its pods`);
    expect(r.out).toMatch(new RegExp(`\\[facts\\] m1: gather facts: .*; replacing kube-apiserver ${FROM}, kubelet ${FROM} with ${TO}`));
    expect(r.out).toMatch(new RegExp(`\\[facts\\] n1: gather facts: .*; replacing kubelet ${FROM} with ${TO}`));
    expect(await versionsNow()).toEqual(allAt(FROM));
  });

  it(`upgrades: the endpoint never fails (probe every 200 ms), also when n1's gate fails and stops the roll (n2 untouched) ` +
    `and through the re-run; every component runs ${TO}; each Node cordoned, drained, uncordoned`, { timeout: ROLL_TIMEOUT_MS }, async () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'web-1',
        namespace: 'default',
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', uid: 'u1', controller: true }],
      },
      spec: { nodeName: 'n1', containers: [{ name: 'web', image: 'busybox' }] },
    };
    expect((await api('/api/v1/namespaces/default/pods', 'POST', pod)).status).toBe(201);
    // An operator's drop-in that keeps n1's kubelet from starting: its gate fails after its restart.
    await s.tb.hostExec('n1', `mkdir -p ${BROKEN_DIR} && printf '[Service]\\nExecStartPre=/bin/false\\nRestartSec=1\\n' > ${BROKEN_DIR}/broken.conf`);
    const cordons = watchCordons();
    // An object, as a client asks: /readyz through the balancer asks one master whether it is ready, and a stopping one
    // answers no through its --shutdown-delay-duration while it still serves every request (renewal's probe is the same).
    const probe = startEndpointProbe(`${ENDPOINT}/api/v1/nodes/m1`, admin, { intervalMs: 200 });
    const started = Date.now();
    const upgrade = () => s.deploy({ upgrade: { drainTimeoutMs: 60_000, force: false } });
    // The probe and the watch stop whether or not the runs went as expected.
    const outcome = await (async () => {
      const stopped = await upgrade().then(
        () => undefined,
        (err: unknown) => err,
      );
      const midway = await versionsNow();
      const n1 = (await api('/api/v1/nodes/n1')).json;
      // The operator's fix: the drop-in gone, the crash-looping unit stopped (a restart during systemd's own
      // restart delay would keep its restart count, which the gate reads as still crash-looping).
      await s.tb.hostExec('n1', `rm -r ${BROKEN_DIR} && systemctl daemon-reload && systemctl stop ${UNITS.kubelet}`);
      return { stopped, midway, n1, result: await upgrade() };
    })().then(
      (r) => ({ r }),
      (err: unknown) => ({ err }),
    );
    const report = await probe.stop();
    const seen = await cordons.stop();
    if ('err' in outcome) throw outcome.err;
    const { stopped, midway, n1, result } = outcome.r;
    const took = ((Date.now() - started) / 1000).toFixed(1);
    console.log(`upgrade ${FROM} -> ${TO} (stopped once, re-run) in ${took} s; probe: ${report.requests} requests, ${report.failures} failures`);
    expect(report.failureSamples).toEqual([]);
    expect(report.requests).toBeGreaterThan(50);

    expect(stopped).toBeInstanceOf(PhaseFailed);
    expect((stopped as PhaseFailed).failures.map((f) => [f.host, f.step])).toEqual([['n1', 'wait for node services']]);
    expect((stopped as PhaseFailed).message).toContain('the roll stopped there: n2 left untouched');
    // Masters upgraded, n2 untouched, n1 cordoned and marked, its pod evicted.
    expect(midway.m1).toEqual(allAt(TO).m1);
    expect(midway.n2).toEqual(allAt(FROM).n2);
    expect([n1.spec.unschedulable, n1.metadata.annotations[UPGRADE_CORDON_ANNOTATION]]).toEqual([true, 'true']);
    expect((await api('/api/v1/namespaces/default/pods/web-1')).status).toBe(404);

    expect(await versionsNow()).toEqual(allAt(TO));
    expect((await api('/version')).json.gitVersion).toBe(`v${TO}`);
    for (const h of [...MASTERS, ...NODES]) expect(seen[h.name], h.name).toEqual([false, true, false]);
    for (const h of ['n1', 'n2']) expect(result.summary.hosts.find((x) => x.name === h)!.notes, h).toContain(`Node ${h} drained, restarted and uncordoned`);
    expect((await api('/api/v1/nodes/n1')).json.metadata.annotations?.[UPGRADE_CORDON_ANNOTATION]).toBeUndefined();
  });

  it(`a downgrade to ${FROM} is refused`, async () => {
    await moveTo(FROM);
    const r = kubeinstall(['upgrade', '-i', s.inventory, '--ignore-preflight-errors', [...TESTBED_IGNORED_CHECKS].join(',')]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`[kubernetes-version] kube-apiserver ${TO} is installed here: ${FROM} would be a downgrade, which kubeinstall refuses`);
    expect(await versionsNow()).toEqual(allAt(TO));
  });
});
