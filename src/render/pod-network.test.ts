import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyRequests } from '../deploy/api-client.js';
import { POD_SUBNETS_FILE } from '../network/pod-subnets.js';
import { buildClusterPlan } from './plan.js';
import { podRoutesScript } from './pod-network.js';
import { ALL_BINARIES, binaryIndexFor, clusterFilesFor, modelFrom, parseUnit } from './test-fixtures.js';
import type { HostPlan } from './types.js';

const HOSTS = [
  '  - { name: m1, address: 10.0.0.1, roles: [etcd, master] }',
  '  - { name: n1, address: 10.0.0.2, roles: [node] }',
  '  - { name: n2, address: 192.0.2.3, internalAddress: 10.0.0.3, roles: [node] }',
].join('\n');
const model = (cluster = '') => modelFrom(`${HOSTS}\n`, `  podCidr: 10.244.0.0/16\n${cluster}`);
const CNI = ['cni/bridge', 'cni/host-local', 'cni/loopback', 'cni/portmap'];
const text = (hp: HostPlan, path: string): string => {
  const f = hp.files.find((x) => x.path === path);
  return f?.content.kind === 'inline' ? f.content.data.toString() : '';
};
const host = (plan: ReturnType<typeof buildClusterPlan>, name: string): HostPlan => plan.hosts.find((h) => h.host.name === name)!;

describe('the bridge pod network (render)', () => {
  const m = model();
  const plan = buildClusterPlan(m, clusterFilesFor(m), binaryIndexFor([...ALL_BINARIES, ...CNI]));

  it("gives each kubelet host a bridge config with its own subnet, and routes to the others' through their internal addresses", () => {
    const n2 = host(plan, 'n2');
    expect(n2.podSubnet).toBe('10.244.2.0/24');
    expect(JSON.parse(text(n2, '/etc/cni/net.d/10-bridge.conf'))).toMatchObject({
      cniVersion: '1.0.0',
      type: 'bridge',
      bridge: 'cni0',
      isGateway: true,
      ipMasq: false,
      ipam: { type: 'host-local', ranges: [[{ subnet: '10.244.2.0/24', gateway: '10.244.2.1' }]] },
    });
    expect(JSON.parse(text(n2, '/etc/cni/net.d/99-loopback.conf'))).toMatchObject({ type: 'loopback' });
    expect(text(host(plan, 'n1'), '/usr/local/bin/kubeinstall-pod-routes')).toContain("routes='10.244.0.0/24=10.0.0.1 10.244.2.0/24=10.0.0.3'");
    const unit = parseUnit(text(n2, '/etc/systemd/system/kubeinstall-pod-routes.service'));
    expect(unit.sections.get('Service')!.get('Type')).toBe('oneshot');
    expect(unit.sections.get('Install')!.get('WantedBy')).toBe('multi-user.target');
  });

  it('takes a changed route list with a reload, and the CNI config with no restart at all', () => {
    const n1 = host(plan, 'n1');
    const script = n1.files.find((f) => f.path === '/usr/local/bin/kubeinstall-pod-routes')!;
    expect([script.restarts, script.reloads, script.mode]).toEqual([[], ['kubeinstall-pod-routes.service'], 0o755]);
    expect(n1.files.find((f) => f.path === '/etc/cni/net.d/10-bridge.conf')!.restarts).toEqual([]);
  });

  it("uploads the binaries folder's CNI plugins to /opt/cni/bin, where containerd looks; else containerd looks in the OS package's", () => {
    expect(
      host(plan, 'n1')
        .files.filter((f) => f.path.startsWith('/opt/cni/bin/'))
        .map((f) => f.path),
    ).toEqual(['bridge', 'host-local', 'loopback', 'portmap'].map((p) => `/opt/cni/bin/${p}`));
    expect(text(host(plan, 'n1'), '/etc/containerd/config.toml')).toMatch(/bin_dir = "\/opt\/cni\/bin"\n\s*conf_dir = "\/etc\/cni\/net\.d"/);
    const os = buildClusterPlan(m, clusterFilesFor(m), binaryIndexFor(ALL_BINARIES));
    expect(text(host(os, 'n1'), '/etc/containerd/config.toml')).toContain('bin_dir = "/usr/lib/cni"');
    expect(host(os, 'n1').files.some((f) => f.path.startsWith('/opt/cni/'))).toBe(false);
  });

  it("turns the controller-manager's node CIDR allocation off (deploy sets each Node's), and on with the same size for other networks", () => {
    const flags = (p: ReturnType<typeof buildClusterPlan>) => parseUnit(text(host(p, 'm1'), '/etc/systemd/system/kube-controller-manager.service')).flags;
    expect(flags(plan).get('allocate-node-cidrs')).toBe('false');
    expect(flags(plan).get('cluster-cidr')).toBe('10.244.0.0/16');
    const none = model('  network: { plugin: none, nodeSubnetSize: 25 }\n');
    const nonePlan = buildClusterPlan(none, clusterFilesFor(none), binaryIndexFor(ALL_BINARIES));
    expect([flags(nonePlan).get('allocate-node-cidrs'), flags(nonePlan).get('node-cidr-mask-size')]).toEqual(['true', '25']);
    expect(host(nonePlan, 'n1').files.some((f) => f.path.startsWith('/etc/cni/'))).toBe(false);
    expect(text(host(nonePlan, 'n1'), '/etc/containerd/config.toml')).toContain('bin_dir = "/opt/cni/bin"');
  });

  it('waits for `certs` when the subnets are not recorded', () => {
    const files = clusterFilesFor(m);
    files.delete(POD_SUBNETS_FILE);
    expect(() => buildClusterPlan(m, files, binaryIndexFor(ALL_BINARIES))).toThrow(
      /n1: network\/pod-subnets\.json \(for \/etc\/cni\/net\.d\/10-bridge\.conf\)/,
    );
  });

  it('adds, replaces and prunes only routes of its own protocol, retrying while the gateway is not on-link yet', () => {
    const script = podRoutesScript([{ subnet: '10.244.1.0/24', via: '10.0.0.2' }], 4);
    expect(script).toContain('ip -4 route replace "${r%%=*}" via "${r#*=}" proto 76');
    expect(script).toContain('ip -4 route show proto 76');
    expect(script).toContain('until apply; do');
    expect(podRoutesScript([], 6)).toContain("routes=''");
  });
});

describe('plugin manifest', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ki-manifest-'));
  const withManifest = (text: string) => {
    writeFileSync(join(dir, 'net.yaml'), text);
    return () => model(`  network: { plugin: manifest, manifest: ${join(dir, 'net.yaml')} }\n`);
  };

  it("goes through the plan's manifests after ours, and nothing of the bridge network is installed", () => {
    const yaml =
      'apiVersion: v1\nkind: Namespace\nmetadata: { name: net }\n---\napiVersion: apps/v1\nkind: DaemonSet\nmetadata: { name: net, namespace: net }\n';
    const m = withManifest(yaml)();
    const plan = buildClusterPlan(m, clusterFilesFor(m), binaryIndexFor(ALL_BINARIES));
    expect(plan.manifests.at(-1)).toEqual({ name: 'network-net.yaml', yaml });
    expect(applyRequests('network-net.yaml', yaml).map((r) => r.path.split('?')[0])).toEqual([
      '/api/v1/namespaces/net',
      '/apis/apps/v1/namespaces/net/daemonsets/net',
    ]);
    expect(() => applyRequests('network-net.yaml', 'apiVersion: crd.projectcalico.org/v1\nkind: IPPool\nmetadata: { name: p }\n')).toThrow(
      /network-net\.yaml: cannot apply a IPPool/,
    );
    expect(plan.hosts.flatMap((h) => h.files).some((f) => f.path.startsWith('/etc/cni/'))).toBe(false);
  });

  it('refuses a file that does not parse, or holds something else than objects, naming it', () => {
    expect(withManifest('kind: [unclosed\n')).toThrow(new RegExp(`cluster\\.network\\.manifest: error: ${join(dir, 'net.yaml')}: not valid YAML`));
    expect(withManifest('apiVersion: v1\nkind: Namespace\nmetadata: { name: a }\n---\n- a list\n')).toThrow(/document 2 is not a Kubernetes object/);
    expect(withManifest('# nothing\n')).toThrow(/holds no objects/);
    rmSync(dir, { recursive: true, force: true });
  });
});
