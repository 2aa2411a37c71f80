// Cluster DNS: CoreDNS as the objects kubeadm's DNS addon creates (cmd/kubeadm/app/phases/addons/dns), built
// here as data and applied with the plan's other manifests (server-side apply, once the API is up). The
// kube-dns Service takes the tenth service IP, the address every kubelet already gives its pods.
import yaml from 'js-yaml';
import type { ClusterModel } from '../inventory/model.js';
import { CONTROL_PLANE_ROLE } from '../inventory/node-meta.js';
import { clusterImages } from './images.js';

export const COREDNS = {
  namespace: 'kube-system',
  name: 'coredns',
  /** The Service keeps kube-dns's name and label, as every cluster has since kube-dns: tools look them up. */
  service: 'kube-dns',
  appLabel: 'kube-dns',
  replicas: 2,
  clusterRole: 'system:coredns',
  ports: { dns: 53, metrics: 9153, health: 8080, ready: 8181 },
} as const;

export const COREDNS_MANIFEST = 'coredns.yaml';

/** The Corefile: answers for the cluster domain and reverse zones from the API, forwards the rest to the node's
 * resolvers (the pod gets the node's resolv.conf: dnsPolicy Default), and `loop` stops a forward back to itself. */
export const corefile = (domain: string): string =>
  [
    `.:${COREDNS.ports.dns} {`,
    '    errors',
    `    health :${COREDNS.ports.health} {`,
    '        lameduck 5s',
    '    }',
    `    ready :${COREDNS.ports.ready}`,
    `    kubernetes ${domain} in-addr.arpa ip6.arpa {`,
    '        pods insecure',
    '        fallthrough in-addr.arpa ip6.arpa',
    '        ttl 30',
    '    }',
    `    prometheus :${COREDNS.ports.metrics}`,
    '    forward . /etc/resolv.conf',
    '    cache 30',
    '    loop',
    '    reload',
    '    loadbalance',
    '}',
    '',
  ].join('\n');

const meta = (name: string, namespaced = true) => ({ name, ...(namespaced ? { namespace: COREDNS.namespace } : {}) });
const selector = { 'k8s-app': COREDNS.appLabel };

const serviceAccount = () => ({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(COREDNS.name) });

/** What the kubernetes plugin watches. */
const clusterRole = () => ({
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'ClusterRole',
  metadata: meta(COREDNS.clusterRole, false),
  rules: [
    { apiGroups: [''], resources: ['endpoints', 'services', 'pods', 'namespaces'], verbs: ['list', 'watch'] },
    { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
  ],
});

const clusterRoleBinding = () => ({
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'ClusterRoleBinding',
  metadata: meta(COREDNS.clusterRole, false),
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: COREDNS.clusterRole },
  subjects: [{ kind: 'ServiceAccount', name: COREDNS.name, namespace: COREDNS.namespace }],
});

const configMap = (model: ClusterModel) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: meta(COREDNS.name),
  data: { Corefile: corefile(model.clusterDomain) },
});

const containerPorts = [
  { name: 'dns', containerPort: COREDNS.ports.dns, protocol: 'UDP' },
  { name: 'dns-tcp', containerPort: COREDNS.ports.dns, protocol: 'TCP' },
  { name: 'metrics', containerPort: COREDNS.ports.metrics, protocol: 'TCP' },
  { name: 'liveness-probe', containerPort: COREDNS.ports.health, protocol: 'TCP' },
  { name: 'readiness-probe', containerPort: COREDNS.ports.ready, protocol: 'TCP' },
];

const deployment = (model: ClusterModel) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { ...meta(COREDNS.name), labels: selector },
  spec: {
    replicas: COREDNS.replicas,
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
    selector: { matchLabels: selector },
    template: {
      metadata: { labels: selector },
      spec: {
        priorityClassName: 'system-cluster-critical',
        serviceAccountName: COREDNS.name,
        // One replica per node where there are several; both on the one node of a single-node cluster.
        topologySpreadConstraints: [
          { maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: selector } },
        ],
        // Masters that are not nodes carry the control-plane taint: CoreDNS may still run there (as kubeadm's does).
        tolerations: [
          { key: 'CriticalAddonsOnly', operator: 'Exists' },
          { key: CONTROL_PLANE_ROLE, effect: 'NoSchedule' },
        ],
        nodeSelector: { 'kubernetes.io/os': 'linux' },
        // The node's resolv.conf (the kubelet's resolvConf), not the cluster DNS: CoreDNS forwards there.
        dnsPolicy: 'Default',
        containers: [
          {
            name: COREDNS.name,
            image: clusterImages(model).coredns,
            imagePullPolicy: 'IfNotPresent',
            args: ['-conf', '/etc/coredns/Corefile'],
            resources: { limits: { memory: '170Mi' }, requests: { cpu: '100m', memory: '70Mi' } },
            volumeMounts: [{ name: 'config-volume', mountPath: '/etc/coredns', readOnly: true }],
            ports: containerPorts,
            livenessProbe: {
              httpGet: { path: '/health', port: 'liveness-probe', scheme: 'HTTP' },
              initialDelaySeconds: 60,
              timeoutSeconds: 5,
              failureThreshold: 5,
            },
            readinessProbe: { httpGet: { path: '/ready', port: 'readiness-probe', scheme: 'HTTP' } },
            securityContext: {
              allowPrivilegeEscalation: false,
              capabilities: { add: ['NET_BIND_SERVICE'], drop: ['ALL'] },
              readOnlyRootFilesystem: true,
            },
          },
        ],
        volumes: [{ name: 'config-volume', configMap: { name: COREDNS.name, items: [{ key: 'Corefile', path: 'Corefile' }] } }],
      },
    },
  },
});

const service = (model: ClusterModel) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { ...meta(COREDNS.service), labels: { ...selector, 'kubernetes.io/name': 'CoreDNS' } },
  spec: {
    clusterIP: model.clusterDnsIp,
    selector,
    ports: [
      { name: 'dns', port: COREDNS.ports.dns, targetPort: COREDNS.ports.dns, protocol: 'UDP' },
      { name: 'dns-tcp', port: COREDNS.ports.dns, targetPort: COREDNS.ports.dns, protocol: 'TCP' },
      { name: 'metrics', port: COREDNS.ports.metrics, targetPort: COREDNS.ports.metrics, protocol: 'TCP' },
    ],
  },
});

/** Every CoreDNS object, in the order they are applied (the Deployment's ServiceAccount and ConfigMap first). */
export const corednsObjects = (model: ClusterModel): readonly object[] => [
  serviceAccount(),
  clusterRole(),
  clusterRoleBinding(),
  configMap(model),
  deployment(model),
  service(model),
];

/** The objects as one multi-document manifest, or none with `cluster.dns: none`. */
export const renderCoreDns = (model: ClusterModel): { readonly name: string; readonly yaml: string }[] =>
  model.dns === 'coredns'
    ? [
        {
          name: COREDNS_MANIFEST,
          yaml: corednsObjects(model)
            .map((o) => yaml.dump(o, { lineWidth: -1, noRefs: true }))
            .join('---\n'),
        },
      ]
    : [];
