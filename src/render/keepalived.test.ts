import { describe, expect, it } from 'vitest';
import { vrrpRouterIdOf } from '../inventory/model.js';
import { VRRP_PASSWORD_FILE } from '../pki/vrrp.js';
import { KubeinstallError } from '../util/errors.js';
import { buildClusterPlan } from './plan.js';
import { ALL_BINARIES, binaryIndexFor, clusterFilesFor, modelFrom, TEST_VRRP_PASSWORD } from './test-fixtures.js';
import type { ClusterPlan, HostPlan } from './types.js';

const HOSTS = `${[
  '  - { name: m1, address: 198.18.43.2, roles: [etcd, master] }',
  '  - { name: m2, address: 198.18.43.3, roles: [etcd, master] }',
  '  - { name: m3, address: 198.18.43.4, roles: [etcd, master] }',
  '  - { name: n1, address: 198.18.43.5, roles: [node] }',
].join('\n')}\n`;
const VIP = '  apiEndpoint: 198.18.43.100:6443\n  apiEndpointKind: vip\n';
const model = modelFrom(HOSTS, VIP);
const plan = buildClusterPlan(model, clusterFilesFor(model), binaryIndexFor(ALL_BINARIES));

const hostPlan = (p: ClusterPlan, name: string): HostPlan => p.hosts.find((h) => h.host.name === name)!;
const file = (h: HostPlan, path: string) => h.files.find((f) => f.path === path);
const text = (h: HostPlan, path: string): string => {
  const f = file(h, path);
  if (f?.content.kind !== 'inline') throw new Error(`${h.host.name} has no inline ${path}`);
  return f.content.data.toString();
};
const CONF = '/etc/keepalived/keepalived.conf';

describe('keepalived (apiEndpointKind vip)', () => {
  const m2 = hostPlan(plan, 'm2');
  const conf = text(m2, CONF);

  it('runs on every master, after the API server, and applies changes by a reload; not on nodes', () => {
    for (const name of ['m1', 'm2', 'm3']) {
      expect(hostPlan(plan, name).services.find((s) => s.unit === 'keepalived.service')).toEqual({ unit: 'keepalived.service', phase: 'control-plane' });
      expect(file(hostPlan(plan, name), CONF)).toMatchObject({ restarts: [], reloads: ['keepalived.service'] });
    }
    expect(hostPlan(plan, 'n1').services.map((s) => s.unit)).not.toContain('keepalived.service');
    expect(hostPlan(plan, 'n1').files.filter((f) => f.path.includes('keepalived'))).toEqual([]);
  });

  it('speaks VRRP by unicast from the internal address to the other masters', () => {
    expect(conf).toContain('unicast_src_ip 198.18.43.3\n');
    expect(conf).toContain('  unicast_peer {\n    198.18.43.2\n    198.18.43.4\n  }\n');
  });

  it('holds the VIP as a /32 on the interface the host finds at start, in one group derived from the cluster name', () => {
    expect(conf).toContain('198.18.43.100/32 dev $VIP_INTERFACE');
    expect(conf).toContain('interface $VIP_INTERFACE\n');
    expect(conf).toContain('include /run/kubeinstall/keepalived-interface.conf\n');
    expect(conf).toContain(`virtual_router_id ${vrrpRouterIdOf('test')}\n`);
    expect(text(m2, '/etc/keepalived/kubeinstall-interface')).toContain('ip -o addr show to 198.18.43.3 |');
    expect(text(m2, '/etc/systemd/system/keepalived.service.d/kubeinstall.conf')).toContain(
      'ExecStartPre=/etc/keepalived/kubeinstall-interface\nExecReload=\nExecReload=/etc/keepalived/kubeinstall-interface\nExecReload=/bin/kill -HUP $MAINPID\n',
    );
  });

  it('is BACKUP everywhere with one priority and nopreempt, and gives the VIP up while the local API server is not ready', () => {
    expect(conf).toMatch(/state BACKUP\n\s+nopreempt\n/);
    expect(conf).toContain('priority 100\n');
    expect(conf).toMatch(/track_script \{\n\s+kubeinstall_apiserver\n/);
    expect(conf).not.toMatch(/^\s*weight/m);
    expect(conf).toContain('script_user root\n  enable_script_security\n');
    const check = text(m2, '/etc/keepalived/kubeinstall-check-apiserver');
    expect(check).toMatch(/^#!\/bin\/sh\n/);
    expect(check).toContain('[{"url":"https://127.0.0.1:6443/readyz","ca":"/etc/kubernetes/pki/ca.crt"}]');
    expect(file(m2, '/etc/keepalived/kubeinstall-check-apiserver')?.mode).toBe(0o755);
  });

  it("authenticates with the cluster folder's password, in a file only root reads", () => {
    expect(conf).toContain(`auth_pass ${TEST_VRRP_PASSWORD}\n`);
    expect(file(m2, CONF)?.mode).toBe(0o600);
  });

  it('takes cluster.vrrpRouterId over the derived group', () => {
    const own = modelFrom(HOSTS, `${VIP}  vrrpRouterId: 42\n`);
    expect(text(hostPlan(buildClusterPlan(own, clusterFilesFor(own), binaryIndexFor(ALL_BINARIES)), 'm1'), CONF)).toContain('virtual_router_id 42\n');
  });

  it('derives a group in 1-255 that stays the same for a name', () => {
    const ids = ['kubernetes', 'prod', 'e2e', 'a', ''].map(vrrpRouterIdOf);
    expect(ids.every((id) => Number.isInteger(id) && id >= 1 && id <= 255)).toBe(true);
    expect(vrrpRouterIdOf('prod')).toBe(ids[1]);
    expect(new Set(ids).size).toBeGreaterThan(1);
  });

  it('lists the password as missing until certs makes it, and refuses one that is not 8 letters and digits', () => {
    const files = clusterFilesFor(model);
    files.delete(VRRP_PASSWORD_FILE);
    expect(() => buildClusterPlan(model, files, binaryIndexFor(ALL_BINARIES))).toThrow(/pki\/vrrp-password \(for \/etc\/keepalived\/keepalived.conf\)/);
    const pending = buildClusterPlan(model, files, binaryIndexFor(ALL_BINARIES), { allowMissing: true });
    expect(hostPlan(pending, 'm1').pending).toContainEqual({ path: CONF, mode: 0o600, from: VRRP_PASSWORD_FILE, awaiting: 'pki' });
    files.set(VRRP_PASSWORD_FILE, Buffer.from('short\n'));
    expect(() => buildClusterPlan(model, files, binaryIndexFor(ALL_BINARIES))).toThrow(KubeinstallError);
  });

  it('leaves keepalived out of clusters whose endpoint is not a VIP', () => {
    const master = modelFrom(HOSTS);
    const p = buildClusterPlan(master, clusterFilesFor(master), binaryIndexFor(ALL_BINARIES));
    expect(p.hosts.flatMap((h) => h.files.filter((f) => f.path.includes('keepalived')))).toEqual([]);
  });
});
