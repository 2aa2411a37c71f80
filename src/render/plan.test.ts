import { readFileSync } from 'node:fs';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { KubeinstallError } from '../util/errors.js';
import { COREDNS_MANIFEST } from './coredns.js';
import { etcdPeerUrl, newClusterBootstrap, renderEtcdConfig } from './etcd.js';
import { buildClusterPlan } from './plan.js';
import { ALL_BINARIES, binaryIndexFor, clusterFilesFor, modelFrom, parseUnit, TEST_ENCRYPTION_KEY } from './test-fixtures.js';
import type { ClusterPlan, HostPlan } from './types.js';

// Three masters that are etcd members, two nodes whose internal address differs from the SSH address
// (multi-NIC), one dedicated etcd member.
const model = modelFrom(
  `${[
    '  - { name: m1, address: 127.0.4.1, roles: [etcd, master] }',
    '  - { name: m2, address: 127.0.4.2, roles: [etcd, master] }',
    '  - { name: m3, address: 127.0.4.3, roles: [etcd, master] }',
    '  - { name: n1, address: 10.1.0.11, internalAddress: 127.0.4.11, roles: [node] }',
    '  - { name: n2, address: 10.1.0.12, internalAddress: 127.0.4.12, roles: [node] }',
  ].join('\n')}\n`,
  '  serviceCidr: 10.96.0.0/12\n  podCidr: 10.244.0.0/16\n',
);
const plan = buildClusterPlan(model, clusterFilesFor(model), binaryIndexFor(ALL_BINARIES));

const hostPlan = (p: ClusterPlan, name: string): HostPlan => p.hosts.find((h) => h.host.name === name)!;
const fileText = (h: HostPlan, path: string): string => {
  const f = h.files.find((x) => x.path === path);
  if (f?.content.kind !== 'inline') throw new Error(`${h.host.name} has no inline ${path}`);
  return f.content.data.toString();
};
const unit = (h: HostPlan, name: string) => parseUnit(fileText(h, `/etc/systemd/system/${name}.service`));
const doc = (h: HostPlan, path: string) => yaml.load(fileText(h, path)) as Record<string, any>;

describe('control plane units', () => {
  const m2 = hostPlan(plan, 'm2');
  const api = unit(m2, 'kube-apiserver');

  it('runs kube-apiserver from /usr/local/bin, on every address of the master (a VIP, 127.0.0.1), advertising the internal one', () => {
    expect(api.binary).toBe('/usr/local/bin/kube-apiserver');
    expect(api.flags.get('bind-address')).toBe('0.0.0.0');
    expect(api.flags.get('advertise-address')).toBe('127.0.4.2');
    expect(api.flags.get('secure-port')).toBe('6443');
  });

  it('points kube-apiserver at every etcd member with the etcd client certificate', () => {
    expect(api.flags.get('etcd-servers')).toBe('https://127.0.4.1:2379,https://127.0.4.2:2379,https://127.0.4.3:2379');
    expect(api.flags.get('etcd-cafile')).toBe('/etc/kubernetes/pki/etcd/ca.crt');
    expect(api.flags.get('etcd-certfile')).toBe('/etc/kubernetes/pki/apiserver-etcd-client.crt');
    expect(api.flags.get('etcd-keyfile')).toBe('/etc/kubernetes/pki/apiserver-etcd-client.key');
  });

  it('sets authorization, admission, service accounts, front proxy and audit as kubeadm does', () => {
    expect(api.flags.get('authorization-mode')).toBe('Node,RBAC');
    expect(api.flags.get('enable-admission-plugins')).toBe('NodeRestriction');
    expect(api.flags.get('service-cluster-ip-range')).toBe('10.96.0.0/12');
    expect(api.flags.get('service-account-issuer')).toBe('https://kubernetes.default.svc.cluster.local');
    expect(api.flags.get('service-account-key-file')).toBe('/etc/kubernetes/pki/sa.pub');
    expect(api.flags.get('service-account-signing-key-file')).toBe('/etc/kubernetes/pki/sa.key');
    expect(api.flags.get('requestheader-client-ca-file')).toBe('/etc/kubernetes/pki/front-proxy-ca.crt');
    expect(api.flags.get('requestheader-allowed-names')).toBe('front-proxy-client');
    expect(api.flags.get('proxy-client-cert-file')).toBe('/etc/kubernetes/pki/front-proxy-client.crt');
    expect(api.flags.get('kubelet-client-certificate')).toBe('/etc/kubernetes/pki/apiserver-kubelet-client.crt');
    expect(api.flags.get('audit-policy-file')).toBe('/etc/kubernetes/audit-policy.yaml');
    expect(doc(m2, '/etc/kubernetes/audit-policy.yaml').kind).toBe('Policy');
  });

  it('verifies kubelet serving certificates (exec, logs, port-forward) with the cluster CA that issues them', () => {
    expect(api.flags.get('kubelet-certificate-authority')).toBe('/etc/kubernetes/pki/ca.crt');
    expect(m2.files.map((f) => f.path)).toContain('/etc/kubernetes/pki/ca.crt');
  });

  it('turns profiling off on the API server, controller-manager and scheduler (CIS 1.2.x, 1.3.x, 1.4.x)', () => {
    expect(api.flags.get('profiling')).toBe('false');
    expect(unit(m2, 'kube-controller-manager').flags.get('profiling')).toBe('false');
    // the scheduler's --profiling is deprecated and ignored with --config: the config says it
    expect(unit(m2, 'kube-scheduler').flags.has('profiling')).toBe(false);
    expect(doc(m2, '/etc/kubernetes/kube-scheduler-config.yaml').enableProfiling).toBe(false);
  });

  it('gives kube-controller-manager its kubeconfig, the signing CA, the SA key and both CIDRs', () => {
    const kcm = unit(m2, 'kube-controller-manager');
    expect(kcm.flags.get('bind-address')).toBe('127.0.0.1');
    expect(kcm.flags.get('kubeconfig')).toBe('/etc/kubernetes/controller-manager.conf');
    expect(kcm.flags.get('cluster-signing-cert-file')).toBe('/etc/kubernetes/pki/ca-signing.crt');
    expect(kcm.flags.get('cluster-signing-key-file')).toBe('/etc/kubernetes/pki/ca.key');
    expect(kcm.flags.get('service-account-private-key-file')).toBe('/etc/kubernetes/pki/sa.key');
    expect(kcm.flags.get('use-service-account-credentials')).toBe('true');
    expect(kcm.flags.get('leader-elect')).toBe('true');
    expect(kcm.flags.get('cluster-cidr')).toBe('10.244.0.0/16');
    expect(kcm.flags.get('service-cluster-ip-range')).toBe('10.96.0.0/12');
  });

  it('configures kube-scheduler through a KubeSchedulerConfiguration file', () => {
    const sched = unit(m2, 'kube-scheduler');
    expect(sched.flags.get('config')).toBe('/etc/kubernetes/kube-scheduler-config.yaml');
    expect(sched.flags.get('bind-address')).toBe('127.0.0.1');
    const cfg = doc(m2, '/etc/kubernetes/kube-scheduler-config.yaml');
    expect(cfg).toMatchObject({ apiVersion: 'kubescheduler.config.k8s.io/v1', kind: 'KubeSchedulerConfiguration' });
    expect(cfg.clientConnection.kubeconfig).toBe('/etc/kubernetes/scheduler.conf');
    expect(cfg.leaderElection.leaderElect).toBe(true);
  });

  it('restarts Kubernetes units always, after a delay', () => {
    for (const name of ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler']) {
      const service = unit(m2, name).sections.get('Service')!;
      expect(service.get('Restart')).toBe('always');
      expect(service.get('RestartSec')).toMatch(/^\d+s$/);
    }
  });
});

describe('node files', () => {
  const n1 = hostPlan(plan, 'n1');

  it('writes a KubeletConfiguration on the internal address with cluster DNS, domain, cgroup driver and certs', () => {
    const cfg = doc(n1, '/var/lib/kubelet/config.yaml');
    expect(cfg).toMatchObject({
      apiVersion: 'kubelet.config.k8s.io/v1beta1',
      kind: 'KubeletConfiguration',
      address: '127.0.4.11',
      healthzBindAddress: '127.0.0.1',
      healthzPort: 10248,
      readOnlyPort: 0,
      clusterDNS: ['10.96.0.10'],
      clusterDomain: 'cluster.local',
      cgroupDriver: 'systemd',
      failSwapOn: true,
      tlsCertFile: '/var/lib/kubelet/pki/kubelet.crt',
      tlsPrivateKeyFile: '/var/lib/kubelet/pki/kubelet.key',
      containerRuntimeEndpoint: 'unix:///run/containerd/containerd.sock',
    });
    expect(cfg.authentication.x509.clientCAFile).toBe('/etc/kubernetes/pki/ca.crt');
    expect(cfg.authentication.anonymous.enabled).toBe(false);
    expect(cfg.authorization.mode).toBe('Webhook');
  });

  it('registers a master with the control-plane taint (kubelet registerWithTaints), a node with none', () => {
    expect(doc(hostPlan(plan, 'm1'), '/var/lib/kubelet/config.yaml').registerWithTaints).toEqual([
      { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' },
    ]);
    expect(doc(n1, '/var/lib/kubelet/config.yaml').registerWithTaints).toEqual([]);
  });

  it('starts kubelet with its kubeconfig, the internal address as node IP and the inventory name as node name', () => {
    const kubelet = unit(n1, 'kubelet');
    expect(kubelet.flags.get('kubeconfig')).toBe('/etc/kubernetes/kubelet.conf');
    expect(kubelet.flags.get('node-ip')).toBe('127.0.4.11');
    expect(kubelet.flags.get('hostname-override')).toBe('n1');
    expect(kubelet.sections.get('Unit')!.get('Requires')).toBe('containerd.service');
  });

  it("starts kubelet once the network is online (as kubeadm's unit) and containerd after D-Bus (as upstream's)", () => {
    const kubelet = unit(n1, 'kubelet').sections.get('Unit')!;
    expect(kubelet.get('Wants')).toBe('network-online.target');
    expect(kubelet.get('After')!.split(' ')).toEqual(['network-online.target', 'containerd.service']);
    expect(unit(n1, 'containerd').sections.get('Unit')!.get('After')).toBe('network.target local-fs.target dbus.service');
  });

  it('writes a KubeProxyConfiguration with its kubeconfig, the pod CIDR, health and metrics on 127.0.0.1 only', () => {
    const cfg = doc(n1, '/var/lib/kube-proxy/config.yaml');
    expect(cfg).toMatchObject({
      apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
      kind: 'KubeProxyConfiguration',
      bindAddress: '127.0.4.11',
      healthzBindAddress: '127.0.0.1:10256',
      metricsBindAddress: '127.0.0.1:10249',
      hostnameOverride: 'n1',
      clusterCIDR: '10.244.0.0/16',
    });
    expect(cfg.clientConnection.kubeconfig).toBe('/var/lib/kube-proxy/kubeconfig');
  });

  it('configures containerd (config version 2) with the systemd cgroup driver and the pause image', () => {
    const toml = fileText(n1, '/etc/containerd/config.toml');
    expect(toml).toMatch(/^version = 2$/m);
    expect(toml).toMatch(/^\s*SystemdCgroup = true$/m);
    expect(toml).toMatch(/^\s*sandbox_image = "registry\.k8s\.io\/pause:3\.10\.1"$/m);
    expect(unit(n1, 'containerd').sections.get('Service')!.get('Type')).toBe('notify');
  });

  it('documents from which containerd release on the rendered config version is read', () => {
    // containerd RELEASES.md, "Daemon configuration": minimum containerd version per config version
    const MIN_CONTAINERD: Record<string, string> = { '1': '1.0.0', '2': '1.3.0', '3': '2.0.0', '4': '2.3.0' };
    const version = /^version = (\d+)$/m.exec(fileText(n1, '/etc/containerd/config.toml'))![1]!;
    const docs = readFileSync(new URL('../../docs/render.md', import.meta.url), 'utf8').replace(/\s+/g, ' ');
    expect(docs).toContain(`containerd config is \`version = ${version}\`, which containerd reads from ${MIN_CONTAINERD[version]} on`);
  });

  it('prepares the host with drop-ins, not edits of /etc/sysctl.conf', () => {
    expect(fileText(n1, '/etc/modules-load.d/kubernetes.conf').split('\n')).toEqual(expect.arrayContaining(['br_netfilter', 'overlay']));
    const sysctl = fileText(n1, '/etc/sysctl.d/90-kubernetes.conf');
    expect(sysctl).toMatch(/^net\.bridge\.bridge-nf-call-iptables = 1$/m);
    expect(sysctl).toMatch(/^net\.ipv4\.ip_forward = 1$/m);
    expect(n1.files.map((f) => f.path)).not.toContain('/etc/sysctl.conf');
  });
});

describe('masters are nodes too', () => {
  const NODE_UNITS = ['containerd.service', 'kubelet.service', 'kube-proxy.service'];

  it('gives a master containerd, kubelet and kube-proxy (binaries, units, configs, its own kubelet identity), after its control plane', () => {
    const m1 = hostPlan(plan, 'm1');
    expect(m1.services.map((s) => s.unit)).toEqual([
      'etcd.service',
      'kube-apiserver.service',
      'kube-controller-manager.service',
      'kube-scheduler.service',
      ...NODE_UNITS,
      'kubeinstall-pod-routes.service',
    ]);
    const paths = m1.files.map((f) => f.path);
    for (const binary of ['containerd', 'containerd-shim-runc-v2', 'runc', 'kubelet', 'kube-proxy']) expect(paths).toContain(`/usr/local/bin/${binary}`);
    expect(paths).toEqual(expect.arrayContaining(['/var/lib/kubelet/config.yaml', '/etc/kubernetes/kubelet.conf', '/var/lib/kubelet/pki/kubelet.crt']));
    expect(unit(m1, 'kubelet').flags.get('hostname-override')).toBe('m1');
    const kubeletConf = m1.files.find((f) => f.path === '/etc/kubernetes/kubelet.conf')!;
    expect(kubeletConf.content.kind === 'inline' && kubeletConf.content.data.toString()).toContain('nodes/m1/kubelet.conf');
  });

  it('gives a dedicated etcd member none of them', () => {
    const m = modelFrom('  - { name: e1, address: 127.0.4.21, roles: [etcd] }\n  - { name: m1, address: 127.0.4.1, roles: [master] }\n');
    const p = buildClusterPlan(m, clusterFilesFor(m), binaryIndexFor(ALL_BINARIES));
    expect(hostPlan(p, 'e1').services.map((s) => s.unit)).toEqual(['etcd.service']);
    expect(hostPlan(p, 'm1').services.map((s) => s.unit)).toEqual(expect.arrayContaining(NODE_UNITS));
  });
});

describe('Secrets encrypted at rest', () => {
  const config = '/etc/kubernetes/encryption-config.yaml';
  const secret = TEST_ENCRYPTION_KEY.toString('base64');

  it('gives each master an EncryptionConfiguration (0600): the cluster key under aescbc, identity last', () => {
    const m1 = hostPlan(plan, 'm1');
    expect(doc(m1, config)).toEqual({
      apiVersion: 'apiserver.config.k8s.io/v1',
      kind: 'EncryptionConfiguration',
      resources: [{ resources: ['secrets'], providers: [{ aescbc: { keys: [{ name: 'key1', secret }] } }, { identity: {} }] }],
    });
    expect(m1.files.find((f) => f.path === config)).toMatchObject({ mode: 0o600, restarts: ['kube-apiserver.service'] });
    expect(unit(m1, 'kube-apiserver').flags.get('encryption-provider-config')).toBe(config);
  });

  it('puts the key in that file only: never on a node, nor as a file of its own', () => {
    for (const h of plan.hosts) {
      const holding = h.files.filter((f) => f.content.kind === 'inline' && f.content.data.toString().includes(secret)).map((f) => f.path);
      expect([h.host.name, holding]).toEqual([h.host.name, h.host.roles.includes('master') ? [config] : []]);
    }
  });

  it('refuses to plan without the key, or with one that is not 32 bytes, naming the file', () => {
    const files = clusterFilesFor(model);
    files.delete('pki/encryption.key');
    expect(() => buildClusterPlan(model, files, binaryIndexFor(ALL_BINARIES))).toThrow(
      /m1: pki\/encryption\.key \(for \/etc\/kubernetes\/encryption-config\.yaml\)/,
    );
    files.set('pki/encryption.key', Buffer.from(Buffer.alloc(16).toString('base64')));
    expect(() => buildClusterPlan(model, files, binaryIndexFor(ALL_BINARIES))).toThrow(
      /pki\/encryption\.key in the cluster folder is not a base64-encoded 32-byte key/,
    );
  });
});

describe('etcd members', () => {
  it('keep their config when the cluster grows: a member added to the inventory changes no other etcd file', () => {
    const grown = modelFrom(`${['m1', 'm2', 'm3', 'm4', 'm5'].map((m, i) => `  - { name: ${m}, address: 127.0.4.${i + 1}, roles: [etcd] }`).join('\n')}\n`);
    const small = modelFrom(`${['m1', 'm2', 'm3'].map((m, i) => `  - { name: ${m}, address: 127.0.4.${i + 1}, roles: [etcd] }`).join('\n')}\n`);
    const files = clusterFilesFor(grown);
    const etcdFiles = (p: ClusterPlan, name: string) => hostPlan(p, name).files.map((f) => [f.path, f.sha256]);
    const before = buildClusterPlan(small, files, binaryIndexFor(ALL_BINARIES));
    const after = buildClusterPlan(grown, files, binaryIndexFor(ALL_BINARIES));
    for (const m of ['m1', 'm2', 'm3']) expect(etcdFiles(after, m), m).toEqual(etcdFiles(before, m));
  });

  it('a new cluster first starts with `new` and every member; a joining member with `existing` and the members it joins', () => {
    const m2 = model.hosts.find((h) => h.name === 'm2')!;
    const first = yaml.load(renderEtcdConfig(model, m2, newClusterBootstrap(model))) as Record<string, string>;
    expect(first).toMatchObject({
      'initial-cluster': 'm1=https://127.0.4.1:2380,m2=https://127.0.4.2:2380,m3=https://127.0.4.3:2380',
      'initial-cluster-state': 'new',
    });
    const joining = renderEtcdConfig(model, m2, {
      state: 'existing',
      members: [
        { name: 'm1', peerUrl: 'https://127.0.4.1:2380' },
        { name: 'm2', peerUrl: etcdPeerUrl(m2) },
      ],
    });
    expect(yaml.load(joining)).toMatchObject({ 'initial-cluster': 'm1=https://127.0.4.1:2380,m2=https://127.0.4.2:2380', 'initial-cluster-state': 'existing' });
  });

  it('render a config with client and peer URLs on the member address, metrics on 127.0.0.1, the member alone in initial-cluster and mutual TLS', () => {
    const m3 = hostPlan(plan, 'm3');
    const cfg = doc(m3, '/etc/etcd/etcd.conf.yml');
    expect(cfg).toMatchObject({
      name: 'm3',
      'data-dir': '/var/lib/etcd',
      'listen-client-urls': 'https://127.0.4.3:2379',
      'advertise-client-urls': 'https://127.0.4.3:2379',
      'listen-peer-urls': 'https://127.0.4.3:2380',
      'initial-advertise-peer-urls': 'https://127.0.4.3:2380',
      'listen-metrics-urls': 'http://127.0.0.1:2381',
      'initial-cluster': 'm3=https://127.0.4.3:2380',
      'initial-cluster-state': 'existing',
    });
    expect(cfg['client-transport-security']).toEqual({
      'cert-file': '/etc/kubernetes/pki/etcd/server.crt',
      'key-file': '/etc/kubernetes/pki/etcd/server.key',
      'trusted-ca-file': '/etc/kubernetes/pki/etcd/ca.crt',
      'client-cert-auth': true,
    });
    expect(cfg['peer-transport-security']['client-cert-auth']).toBe(true);
    const etcdUnit = unit(m3, 'etcd');
    expect(etcdUnit.sections.get('Service')!.get('Type')).toBe('notify');
    expect(etcdUnit.sections.get('Service')!.get('Restart')).toBe('on-failure');
    expect(etcdUnit.flags.get('config-file')).toBe('/etc/etcd/etcd.conf.yml');
  });
});

describe('listeners', () => {
  it('bind a wildcard only for kube-apiserver: every other listener is on the internal address or 127.0.0.1', () => {
    const apiServerUnit = '/etc/systemd/system/kube-apiserver.service';
    for (const h of plan.hosts) {
      for (const f of h.files) {
        if (f.content.kind !== 'inline' || f.content.data.includes('placeholder')) continue;
        let settings = f.content.data.toString().replace(/^\s*#.*$/gm, '');
        if (f.path === apiServerUnit) settings = settings.replace('--bind-address=0.0.0.0', '');
        if (f.path === '/etc/cni/net.d/10-bridge.conf') settings = settings.replace('"dst": "0.0.0.0/0"', ''); // the pods' default route
        expect(settings, `${h.host.name}:${f.path}`).not.toMatch(/0\.0\.0\.0|\[::\]|localhost/);
      }
    }
  });
});

describe('per-host minimality', () => {
  const caKeys = ['/etc/kubernetes/pki/ca.key', '/etc/kubernetes/pki/front-proxy-ca.key', '/etc/kubernetes/pki/etcd/ca.key', '/etc/kubernetes/pki/sa.key'];

  it('gives a node no CA private key and no service-account key', () => {
    const paths = hostPlan(plan, 'n1').files.map((f) => f.path);
    for (const k of caKeys) expect(paths).not.toContain(k);
    expect(paths.filter((p) => p.endsWith('.key'))).toEqual(['/var/lib/kubelet/pki/kubelet.key']);
  });

  it('gives a master the CA key the controller-manager signs with and the SA key, but no other CA key', () => {
    const paths = hostPlan(plan, 'm1').files.map((f) => f.path);
    expect(paths).toEqual(expect.arrayContaining(['/etc/kubernetes/pki/ca.key', '/etc/kubernetes/pki/sa.key']));
    expect(paths).not.toContain('/etc/kubernetes/pki/front-proxy-ca.key');
    expect(paths).not.toContain('/etc/kubernetes/pki/etcd/ca.key');
  });

  it('keeps an etcd-only host free of Kubernetes files, binaries and units', () => {
    const etcdOnly = modelFrom([1, 2, 3].map((n) => `  - { name: e${n}, address: 127.0.4.${20 + n}, roles: [etcd] }\n`).join(''));
    const p = buildClusterPlan(etcdOnly, clusterFilesFor(etcdOnly), binaryIndexFor(['etcd', 'etcdctl']));
    const paths = hostPlan(p, 'e2').files.map((f) => f.path);
    expect(paths.filter((x) => !x.startsWith('/etc/kubernetes/pki/etcd/'))).toEqual([
      '/etc/etcd/etcd.conf.yml',
      '/etc/systemd/system/etcd.service',
      '/usr/local/bin/etcd',
      '/usr/local/bin/etcdctl',
    ]);
    expect(p.manifests).toEqual([]);
    expect(hostPlan(p, 'e2').services.map((s) => s.unit)).toEqual(['etcd.service']);
  });

  it("places each member its own certificates, never another member's", () => {
    const server = hostPlan(plan, 'm2').files.find((f) => f.path === '/etc/kubernetes/pki/etcd/server.crt')!;
    expect(server.content.kind === 'inline' && server.content.data.toString()).toContain('members/m2/server.crt');
  });
});

describe('file plan', () => {
  it('sets modes: certificates 0644, keys and kubeconfigs 0600, binaries 0755, all owned by root', () => {
    const m1 = hostPlan(plan, 'm1');
    const mode = (path: string) => m1.files.find((f) => f.path === path)!.mode;
    expect(mode('/etc/kubernetes/pki/apiserver.crt')).toBe(0o644);
    expect(mode('/etc/kubernetes/pki/apiserver.key')).toBe(0o600);
    expect(mode('/etc/kubernetes/admin.conf')).toBe(0o600);
    expect(mode('/usr/local/bin/kube-apiserver')).toBe(0o755);
    expect(new Set(m1.files.map((f) => f.owner))).toEqual(new Set(['root:root']));
  });

  it('lists one file per path, merging the restarts of roles that share it', () => {
    const m1 = hostPlan(plan, 'm1');
    const paths = m1.files.map((f) => f.path);
    expect(new Set(paths).size).toBe(paths.length);
    const etcdCa = m1.files.find((f) => f.path === '/etc/kubernetes/pki/etcd/ca.crt')!;
    expect([...etcdCa.restarts].sort()).toEqual(['etcd.service', 'kube-apiserver.service']);
  });

  it('orders services by phase: etcd, then the control plane, then the node', () => {
    const both = modelFrom('  - { name: a1, address: 127.0.4.31, roles: [etcd, master, node] }\n');
    const p = buildClusterPlan(both, clusterFilesFor(both), binaryIndexFor(ALL_BINARIES));
    expect(p.hosts[0]!.services.map((s) => s.phase)).toEqual(['etcd', 'control-plane', 'control-plane', 'control-plane', 'node', 'node', 'node', 'node']);
    expect(p.hosts[0]!.services[1]!.health).toEqual({ kind: 'https', url: 'https://127.0.4.31:6443/readyz' });
  });

  it("probes what listens on 127.0.0.1 on the host itself, as kubeadm's static pods are probed", () => {
    const both = modelFrom('  - { name: a1, address: 127.0.4.31, roles: [etcd, master, node] }\n');
    const p = buildClusterPlan(both, clusterFilesFor(both), binaryIndexFor(ALL_BINARIES));
    expect(Object.fromEntries(p.hosts[0]!.services.map((s) => [s.unit, s.health]))).toEqual({
      'etcd.service': { kind: 'etcd' },
      'kube-apiserver.service': { kind: 'https', url: 'https://127.0.4.31:6443/readyz' },
      'kube-controller-manager.service': { kind: 'on-host', url: 'https://127.0.0.1:10257/healthz' },
      'kube-scheduler.service': { kind: 'on-host', url: 'https://127.0.0.1:10259/healthz' },
      'containerd.service': undefined,
      'kubelet.service': { kind: 'on-host', url: 'http://127.0.0.1:10248/healthz' },
      'kube-proxy.service': { kind: 'on-host', url: 'http://127.0.0.1:10256/healthz' },
    });
  });

  it('is the same, byte for byte, when built twice', () => {
    const again = buildClusterPlan(model, clusterFilesFor(model), binaryIndexFor(ALL_BINARIES));
    const digest = (p: ClusterPlan) => p.hosts.map((h) => h.files.map((f) => `${f.path} ${f.mode} ${f.sha256}`));
    expect(digest(again)).toEqual(digest(plan));
  });

  it('refuses to plan when a PKI file is missing, naming the file and the host', () => {
    const files = clusterFilesFor(model);
    files.delete('pki/kubelets/n2/kubelet-server.key');
    files.delete('kubeconfigs/masters/m3/scheduler.conf');
    const attempt = () => buildClusterPlan(model, files, binaryIndexFor(ALL_BINARIES));
    expect(attempt).toThrow(KubeinstallError);
    expect(attempt).toThrow(/2 inputs are missing/);
    expect(attempt).toThrow(/n2: pki\/kubelets\/n2\/kubelet-server\.key \(for \/var\/lib\/kubelet\/pki\/kubelet\.key\)/);
    expect(attempt).toThrow(/m3: kubeconfigs\/masters\/m3\/scheduler\.conf/);
  });

  it('refuses to plan when a binary is missing, naming it', () => {
    expect(() => buildClusterPlan(model, clusterFilesFor(model), binaryIndexFor(ALL_BINARIES.filter((b) => b !== 'kube-proxy')))).toThrow(
      /n1: binary kube-proxy/,
    );
  });

  it('with allowMissing, lists what certs and the binaries would provide as pending instead of failing', () => {
    const files = clusterFilesFor(model);
    files.delete('pki/ca.crt');
    const p = buildClusterPlan(model, files, binaryIndexFor(ALL_BINARIES.filter((b) => b !== 'kube-proxy')), { allowMissing: true });
    const n1 = hostPlan(p, 'n1');
    expect(n1.pending).toEqual([
      { path: '/etc/kubernetes/pki/ca.crt', mode: 0o644, from: 'pki/ca.crt', awaiting: 'pki' },
      { path: '/usr/local/bin/kube-proxy', mode: 0o755, from: 'binary kube-proxy', awaiting: 'binary' },
    ]);
    expect(n1.files.map((f) => f.path)).not.toContain('/usr/local/bin/kube-proxy');
    // A master runs kube-proxy too, and its controller-manager signs with the CA's certificate alone.
    expect(hostPlan(p, 'm1').pending).toEqual([
      { path: '/etc/kubernetes/pki/ca-signing.crt', mode: 0o644, from: 'pki/ca.crt', awaiting: 'pki' },
      ...n1.pending!,
    ]);
  });

  it('renders the RBAC bindings a binary install must create', () => {
    const rbac = plan.manifests.filter((m) => m.name !== COREDNS_MANIFEST);
    const docs = rbac.map((m) => yaml.load(m.yaml) as Record<string, any>);
    expect(plan.manifests.map((m) => m.name)).toEqual(['cluster-admins.yaml', 'apiserver-kubelet-client.yaml', COREDNS_MANIFEST]);
    expect(docs.map((d) => [d.metadata.name, d.roleRef.name, d.subjects[0].kind, d.subjects[0].name])).toEqual([
      ['kubeadm:cluster-admins', 'cluster-admin', 'Group', 'kubeadm:cluster-admins'],
      ['kubeadm:apiserver-kubelet-client', 'system:kubelet-api-admin', 'User', 'kube-apiserver-kubelet-client'],
    ]);
  });
});
