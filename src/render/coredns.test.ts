import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { applyRequests } from '../deploy/api-client.js';
import { COREDNS, COREDNS_MANIFEST, renderCoreDns } from './coredns.js';
import { buildClusterPlan } from './plan.js';
import { ALL_BINARIES, binaryIndexFor, clusterFilesFor, modelFrom } from './test-fixtures.js';

const HOSTS = '  - { name: m1, address: 127.0.4.1, roles: [etcd, master, node] }\n';
const model = modelFrom(HOSTS, '  serviceCidr: 198.19.0.0/24\n  clusterDomain: corp.example\n  imageRepository: mirror.example.com/k8s\n');

type Obj = Record<string, any>;
const objects = (m = model): Obj[] => yaml.loadAll(renderCoreDns(m)[0]!.yaml) as Obj[];
const byKind = (kind: string): Obj => objects().find((o) => o.kind === kind)!;

describe('CoreDNS objects', () => {
  it('are ServiceAccount, ClusterRole and binding, ConfigMap, Deployment and the kube-dns Service, in that order', () => {
    expect(objects().map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`)).toEqual([
      'ServiceAccount/kube-system/coredns',
      'ClusterRole//system:coredns',
      'ClusterRoleBinding//system:coredns',
      'ConfigMap/kube-system/coredns',
      'Deployment/kube-system/coredns',
      'Service/kube-system/kube-dns',
    ]);
  });

  it('put the kube-dns Service on the tenth service IP, the one the kubelets name', () => {
    expect(model.clusterDnsIp).toBe('198.19.0.10');
    expect(byKind('Service').spec.clusterIP).toBe('198.19.0.10');
    expect(byKind('Service').spec.selector).toEqual(byKind('Deployment').spec.template.metadata.labels);
  });

  it('serve the cluster domain from the API and forward the rest to the node resolvers, with loop detection', () => {
    const corefile = byKind('ConfigMap').data.Corefile as string;
    expect(corefile).toContain('kubernetes corp.example in-addr.arpa ip6.arpa {');
    for (const plugin of ['forward . /etc/resolv.conf', 'cache 30', 'loop', 'reload', 'health :8080', 'ready :8181']) expect(corefile).toContain(plugin);
  });

  it('run 2 replicas spread over nodes, cluster-critical, tolerating the control-plane taint, from the image table', () => {
    const spec = byKind('Deployment').spec;
    expect(spec.replicas).toBe(COREDNS.replicas);
    expect(spec.replicas).toBe(2);
    const pod = spec.template.spec;
    expect(pod.priorityClassName).toBe('system-cluster-critical');
    expect(pod.topologySpreadConstraints[0].topologyKey).toBe('kubernetes.io/hostname');
    expect(pod.tolerations).toContainEqual({ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' });
    expect(pod.containers[0].image).toMatch(/^mirror\.example\.com\/k8s\/coredns\/coredns:v\d+\.\d+\.\d+$/);
    expect(pod.dnsPolicy).toBe('Default');
  });

  it('are part of the plan unless cluster.dns is none, and each has a server-side apply path', () => {
    const plan = buildClusterPlan(model, clusterFilesFor(model), binaryIndexFor(ALL_BINARIES));
    const dns = plan.manifests.find((m) => m.name === COREDNS_MANIFEST)!;
    expect(applyRequests(dns.name, dns.yaml).map((r) => `${r.method} ${r.path.split('?')[0]}`)).toEqual([
      'PATCH /api/v1/namespaces/kube-system/serviceaccounts/coredns',
      'PATCH /apis/rbac.authorization.k8s.io/v1/clusterroles/system%3Acoredns',
      'PATCH /apis/rbac.authorization.k8s.io/v1/clusterrolebindings/system%3Acoredns',
      'PATCH /api/v1/namespaces/kube-system/configmaps/coredns',
      'PATCH /apis/apps/v1/namespaces/kube-system/deployments/coredns',
      'PATCH /api/v1/namespaces/kube-system/services/kube-dns',
    ]);
    const none = modelFrom(HOSTS, '  dns: none\n');
    expect(renderCoreDns(none)).toEqual([]);
    expect(buildClusterPlan(none, clusterFilesFor(none), binaryIndexFor(ALL_BINARIES)).manifests.map((m) => m.name)).not.toContain(COREDNS_MANIFEST);
  });
});
