// End to end on the test bed: masters are nodes too. A master (+etcd), a node and a host that is both,
// on 198.18.41.0/24: every host runs containerd, kubelet and kube-proxy; the kubelets register their
// Nodes; deploy labels and taints them through the API and keeps them in step with the inventory.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MANAGED_ANNOTATIONS } from '../../../src/deploy/node-meta.js';
import { CONTROL_PLANE_ROLE } from '../../../src/inventory/node-meta.js';
import { run, startSetting, type BedHost, type Setting } from './fixtures.js';

const M1: BedHost = { name: 'm1', address: '198.18.41.11', roles: ['etcd', 'master'], labels: { zone: 'a' } };
const N1: BedHost = {
  name: 'n1',
  address: '198.18.41.12',
  roles: ['node'],
  labels: { zone: 'b', rack: 'r1' },
  taints: [{ key: 'gpu', value: 'true', effect: 'NoSchedule' }],
};
const MN: BedHost = { name: 'mn', address: '198.18.41.13', roles: ['master', 'node'] };
const CONTROL_PLANE_UNITS = ['kube-apiserver.service', 'kube-controller-manager.service', 'kube-scheduler.service'];
/** With the bridge pod network's routes, on every kubelet host. */
const NODE_UNITS = ['containerd.service', 'kubelet.service', 'kube-proxy.service', 'kubeinstall-pod-routes.service'];
const CP_TAINT = { key: CONTROL_PLANE_ROLE, effect: 'NoSchedule' };
let s: Setting;

interface Node {
  metadata: { name: string; labels: Record<string, string>; annotations?: Record<string, string> };
  spec?: { taints?: { key: string; value?: string; effect: string }[] };
}

const kubectl = async (...args: string[]): Promise<string> =>
  (await run('kubectl', ['--kubeconfig', join(s.clusterDir, 'kubeconfigs/admin.conf'), ...args])).stdout;

/** `kubectl get nodes -o json`, by name: labels other than the kubelet's own, and taints. */
const nodes = async (): Promise<Record<string, { labels: Record<string, string>; taints: unknown[] }>> => {
  const list = JSON.parse(await kubectl('get', 'nodes', '-o', 'json')) as { items: Node[] };
  return Object.fromEntries(
    list.items.map((n) => [
      n.metadata.name,
      { labels: Object.fromEntries(Object.entries(n.metadata.labels).filter(([k]) => !k.startsWith('kubernetes.io/'))), taints: n.spec?.taints ?? [] },
    ]),
  );
};

const labelNotes = (result: Awaited<ReturnType<Setting['deploy']>>) =>
  result.summary.hosts.flatMap((h) => h.notes.filter((n) => n.startsWith('Node labels')).map((n) => `${h.name}: ${n}`));

beforeAll(async () => {
  // The master kind, so n1 reaches the API through m1 alone (the last test stops it).
  s = await startSetting({ name: 'masters', subnet: '198.18.41.0/24' }, [M1, N1, MN], { cluster: { apiEndpointKind: 'master' } });
});
afterAll(async () => {
  await s?.stop();
});

describe('masters are nodes: a master (+etcd), a node, a master that is also a node', () => {
  it('runs the node services on every host, and labels and taints each Node as the roles and the inventory say', async () => {
    const result = await s.deploy();
    expect(result.summary.hosts.map((h) => [h.name, h.restarted])).toEqual([
      ['m1', ['etcd.service', ...CONTROL_PLANE_UNITS, ...NODE_UNITS]],
      ['n1', NODE_UNITS],
      ['mn', [...CONTROL_PLANE_UNITS, ...NODE_UNITS]],
    ]);
    expect(await nodes()).toEqual({
      m1: { labels: { [CONTROL_PLANE_ROLE]: '', zone: 'a' }, taints: [CP_TAINT] },
      n1: { labels: { zone: 'b', rack: 'r1' }, taints: [{ key: 'gpu', value: 'true', effect: 'NoSchedule' }] },
      mn: { labels: { [CONTROL_PLANE_ROLE]: '' }, taints: [] },
    });
  });

  it('re-runs changing nothing: no upload, no restart, no Node patched', async () => {
    const result = await s.deploy();
    expect([result.summary.filesUploaded, result.summary.servicesRestarted, labelNotes(result)]).toEqual([0, 0, []]);
  });

  it('removes a label and a taint the inventory dropped, keeps the label someone else set', async () => {
    await kubectl('label', 'node', 'n1', 'team=storage');
    await s.setHosts([M1, { ...N1, labels: { zone: 'b' }, taints: undefined }, MN]);
    const result = await s.deploy();
    expect(labelNotes(result)).toEqual(['n1: Node labels and taints: -rack, -taint gpu:NoSchedule']);
    const n1 = (await nodes()).n1!;
    expect(n1).toEqual({ labels: { zone: 'b', team: 'storage' }, taints: [] });
    const annotations = (JSON.parse(await kubectl('get', 'node', 'n1', '-o', 'json')) as Node).metadata.annotations;
    expect(annotations?.[MANAGED_ANNOTATIONS.labels]).toBe('zone');
  });

  it('a kubelet that lost the API server is unhealthy until it reaches it again', async () => {
    // Asked on the host, at the address its KubeletConfiguration binds the health endpoint to.
    const probe = [
      'import re, urllib.request, urllib.error',
      'addr = re.search(r"^healthzBindAddress:\\D*([0-9.]+)", open("/var/lib/kubelet/config.yaml").read(), re.M).group(1)',
      'try: print(urllib.request.urlopen(f"http://{addr}:10248/healthz", timeout=2).status)',
      'except urllib.error.HTTPError as e: print(e.code)',
    ].join('\n');
    const healthz = async (): Promise<string> => (await s.tb.hostExec('n1', `python3 -c '${probe}'`)).stdout.trim();
    const waitFor = async (code: string): Promise<void> => {
      for (let i = 0; i < 60 && (await healthz()) !== code; i++) await new Promise((r) => setTimeout(r, 500));
      expect(await healthz()).toBe(code);
    };
    // n1's kubeconfig points at the endpoint, m1's API server.
    await s.tb.hostExec('m1', 'systemctl stop kube-apiserver.service');
    await waitFor('503');
    await s.tb.hostExec('m1', 'systemctl start kube-apiserver.service');
    await waitFor('200');
  });
});
