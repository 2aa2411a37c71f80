import { describe, expect, it } from 'vitest';
import { loadInventoryText } from '../inventory/load.js';
import { altNames, CERT_SPECS, expandPki } from './specs.js';

const inventory = (hosts: string, cluster = ''): string => `
cluster:
  name: prod
  apiEndpoint: 192.0.2.100:6443
  apiEndpointKind: vip
  apiServerExtraSans: [k8s.example.com, 203.0.113.7]
${cluster}
hosts:
${hosts}`;

const HA = inventory(`
  - { name: m1, address: 192.0.2.11, roles: [etcd, master] }
  - { name: m2, address: m2.example.com, internalAddress: 10.0.0.12, roles: [etcd, master] }
  - { name: m3, address: 192.0.2.13, roles: [etcd, master] }
  - { name: n1, address: 192.0.2.21, internalAddress: 198.51.100.21, roles: [node] }
  - { name: n2, address: 192.0.2.22, roles: [node] }`);

const planOf = (text: string) => expandPki(loadInventoryText(text, '/clusters/inventory.yaml').model);

describe('expandPki', () => {
  const plan = planOf(HA);
  const cert = (id: string) => {
    const found = plan.certs.find((c) => c.id === id);
    if (!found) throw new Error(`no ${id}`);
    return found;
  };

  it('gives the API server every name a client may use, DNS sorted and IPs in order', () => {
    expect(cert('apiserver').altNames).toEqual({
      dnsNames: [
        'k8s.example.com',
        'kubernetes',
        'kubernetes.default',
        'kubernetes.default.svc',
        'kubernetes.default.svc.cluster.local',
        'localhost',
        'm1',
        'm2',
        'm2.example.com',
        'm3',
      ],
      ipAddresses: ['192.0.2.11', '10.0.0.12', '192.0.2.13', '192.0.2.100', '10.96.0.1', '127.0.0.1', '203.0.113.7'],
    });
  });

  it('follows the cluster domain and the service CIDR', () => {
    const custom = planOf(HA.replace('apiServerExtraSans', 'clusterDomain: corp.internal\n  serviceCidr: 10.32.0.0/16\n  apiServerExtraSans'));
    const sans = custom.certs.find((c) => c.id === 'apiserver')!.altNames;
    expect(sans.dnsNames).toContain('kubernetes.default.svc.corp.internal');
    expect(sans.ipAddresses).toContain('10.32.0.1');
    expect(sans.ipAddresses).not.toContain('10.96.0.1');
  });

  it('issues one etcd server and peer cert per member, named after it and valid on loopback', () => {
    expect(plan.certs.filter((c) => c.spec.name === 'etcd-peer').map((c) => c.id)).toEqual(['etcd-peer/m1', 'etcd-peer/m2', 'etcd-peer/m3']);
    expect(cert('etcd-server/m2')).toMatchObject({
      subject: { cn: 'm2', o: [] },
      ca: 'etcd-ca',
      altNames: { dnsNames: ['localhost', 'm2', 'm2.example.com'], ipAddresses: ['10.0.0.12', '127.0.0.1', '::1'] },
      files: { crt: 'pki/etcd/members/m2/server.crt', key: 'pki/etcd/members/m2/server.key' },
    });
  });

  it('gives every host running a kubelet, masters too, its own kubelet identity (the Node authorizer needs one per node)', () => {
    const clients = plan.certs.filter((c) => c.spec.name === 'kubelet-client');
    expect(clients.map((c) => c.subject)).toEqual([
      { cn: 'system:node:m1', o: ['system:nodes'] },
      { cn: 'system:node:m2', o: ['system:nodes'] },
      { cn: 'system:node:m3', o: ['system:nodes'] },
      { cn: 'system:node:n1', o: ['system:nodes'] },
      { cn: 'system:node:n2', o: ['system:nodes'] },
    ]);
    expect(cert('kubelet-server/n1').altNames).toEqual({ dnsNames: ['n1'], ipAddresses: ['192.0.2.21', '198.51.100.21'] });
    expect(cert('kubelet-server/m2').altNames).toEqual({ dnsNames: ['m2', 'm2.example.com'], ipAddresses: ['10.0.0.12'] });
    // An etcd-only member runs no kubelet.
    expect(
      planOf(inventory('  - { name: e1, address: 192.0.2.31, roles: [etcd] }\n  - { name: m1, address: 192.0.2.11, roles: [master] }'))
        .certs.filter((c) => c.spec.name === 'kubelet-client')
        .map((c) => c.id),
    ).toEqual(['kubelet-client/m1']);
  });

  it('uses the identities the render stage binds roles to', () => {
    const subjects = Object.fromEntries(plan.certs.filter((c) => !c.host).map((c) => [c.id, c.subject]));
    expect(subjects).toMatchObject({
      ca: { cn: 'kubernetes', o: [] },
      admin: { cn: 'kubernetes-admin', o: ['kubeadm:cluster-admins'] },
      'super-admin': { cn: 'kubernetes-super-admin', o: ['system:masters'] },
      'apiserver-kubelet-client': { cn: 'kube-apiserver-kubelet-client', o: [] },
      'apiserver-etcd-client': { cn: 'kube-apiserver-etcd-client', o: [] },
      'etcd-healthcheck-client': { cn: 'kube-etcd-healthcheck-client', o: [] },
      'kube-proxy': { cn: 'system:kube-proxy', o: [] },
    });
    expect(cert('ca').altNames.dnsNames).toEqual(['kubernetes']);
    expect(cert('ca').validityDays).toBe(3650);
    expect(cert('admin').validityDays).toBe(365);
  });

  it("points admin and kubelets at the endpoint, and each master's components at its own API server", () => {
    const servers = Object.fromEntries(plan.kubeconfigs.map((k) => [k.file, k.server]));
    expect(servers).toEqual({
      'kubeconfigs/admin.conf': 'https://192.0.2.100:6443',
      'kubeconfigs/super-admin.conf': 'https://192.0.2.100:6443',
      'kubeconfigs/kube-proxy.conf': 'https://192.0.2.100:6443',
      'kubeconfigs/masters/m1/controller-manager.conf': 'https://192.0.2.11:6443',
      'kubeconfigs/masters/m2/controller-manager.conf': 'https://10.0.0.12:6443',
      'kubeconfigs/masters/m3/controller-manager.conf': 'https://192.0.2.13:6443',
      'kubeconfigs/masters/m1/scheduler.conf': 'https://192.0.2.11:6443',
      'kubeconfigs/masters/m2/scheduler.conf': 'https://10.0.0.12:6443',
      'kubeconfigs/masters/m3/scheduler.conf': 'https://192.0.2.13:6443',
      'kubeconfigs/nodes/m1/kubelet.conf': 'https://192.0.2.100:6443',
      'kubeconfigs/nodes/m2/kubelet.conf': 'https://192.0.2.100:6443',
      'kubeconfigs/nodes/m3/kubelet.conf': 'https://192.0.2.100:6443',
      'kubeconfigs/nodes/n1/kubelet.conf': 'https://192.0.2.100:6443',
      'kubeconfigs/nodes/n2/kubelet.conf': 'https://192.0.2.100:6443',
    });
    expect(plan.kubeconfigs.find((k) => k.file.endsWith('n2/kubelet.conf'))!.certId).toBe('kubelet-client/n2');
  });

  it("node-local: kubelets and kube-proxy on 127.0.0.1 (a node's balancer, a master's own API server), admin.conf at the first master's address", () => {
    const local = planOf(
      HA.replace('  apiEndpoint: 192.0.2.100:6443\n  apiEndpointKind: vip\n', '').replace(
        '- { name: m1, address: 192.0.2.11,',
        '- { name: m1, address: m1.example.com, internalAddress: 10.0.0.11,',
      ),
    );
    const servers = Object.fromEntries(local.kubeconfigs.map((k) => [k.file, k.server]));
    expect(servers).toMatchObject({
      'kubeconfigs/admin.conf': 'https://m1.example.com:6443',
      'kubeconfigs/super-admin.conf': 'https://m1.example.com:6443',
      'kubeconfigs/kube-proxy.conf': 'https://127.0.0.1:6443',
      'kubeconfigs/masters/m1/controller-manager.conf': 'https://10.0.0.11:6443',
      'kubeconfigs/masters/m2/scheduler.conf': 'https://10.0.0.12:6443',
      'kubeconfigs/nodes/m1/kubelet.conf': 'https://127.0.0.1:6443',
      'kubeconfigs/nodes/n1/kubelet.conf': 'https://127.0.0.1:6443',
      'kubeconfigs/nodes/n2/kubelet.conf': 'https://127.0.0.1:6443',
    });
    const sans = local.certs.find((c) => c.id === 'apiserver')!.altNames;
    expect(sans.dnsNames).toContain('m1.example.com');
    expect(sans.ipAddresses).toEqual(expect.arrayContaining(['127.0.0.1', '10.0.0.11']));
  });

  it('gives an etcd-only inventory its etcd CA, members and clients, and nothing of Kubernetes', () => {
    const etcd = planOf(`
cluster:
  name: etcd
hosts:
  - { name: e1, address: 192.0.2.31, roles: [etcd] }
  - { name: e2, address: 192.0.2.32, roles: [etcd] }
  - { name: e3, address: 192.0.2.33, roles: [etcd] }`);
    expect(etcd.certs.map((c) => c.id)).toEqual([
      'etcd-ca',
      'apiserver-etcd-client',
      'etcd-healthcheck-client',
      'etcd-server/e1',
      'etcd-server/e2',
      'etcd-server/e3',
      'etcd-peer/e1',
      'etcd-peer/e2',
      'etcd-peer/e3',
    ]);
    expect(etcd.kubeconfigs).toEqual([]);
    expect(etcd.serviceAccount).toBe(false);
  });

  it('has one row per kind, each either with files or inside a kubeconfig', () => {
    expect(new Set(CERT_SPECS.map((s) => s.name)).size).toBe(CERT_SPECS.length);
    const embedded = CERT_SPECS.filter((s) => !s.files).map((s) => s.name);
    expect(embedded).toEqual(['admin', 'super-admin', 'kube-proxy', 'controller-manager', 'scheduler']);
  });
});

describe('altNames', () => {
  it('splits names from addresses, sorts names, keeps address order and drops duplicates', () => {
    expect(altNames(['b', '10.0.0.2', 'a', '10.0.0.1', 'b', '0:0::1', '::1'])).toEqual({ dnsNames: ['a', 'b'], ipAddresses: ['10.0.0.2', '10.0.0.1', '::1'] });
  });
});
