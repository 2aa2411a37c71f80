// The rendered audit policy, evaluated as the API server evaluates one (the first rule that matches a
// request sets its level), for requests whose level matters: noise not logged, credentials never in
// bodies, writes with bodies.
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { HOST_PATHS } from './paths.js';
import { renderControlPlane } from './control-plane.js';
import { modelFrom } from './test-fixtures.js';

interface Rule {
  readonly level: string;
  readonly users?: string[];
  readonly userGroups?: string[];
  readonly verbs?: string[];
  readonly namespaces?: string[];
  readonly resources?: { group: string; resources?: string[] }[];
  readonly nonResourceURLs?: string[];
}
interface Request {
  readonly user: string;
  readonly groups?: string[];
  readonly verb: string;
  readonly group?: string;
  readonly resource?: string;
  readonly namespace?: string;
  readonly path?: string;
}

const model = modelFrom('  - { name: m1, address: 127.0.7.1, roles: [etcd, master] }\n');
const file = renderControlPlane(model, model.hosts[0]!).files.find((f) => f.path === HOST_PATHS.auditPolicy)!;
const policy = yaml.load(file.data.toString()) as { apiVersion: string; kind: string; omitStages: string[]; rules: Rule[] };

const urlMatches = (pattern: string, path: string): boolean => (pattern.endsWith('*') ? path.startsWith(pattern.slice(0, -1)) : path === pattern);

/** k8s.io/apiserver/pkg/audit/policy/checker.go: ruleMatches, reduced to the fields this policy uses. */
const matches = (rule: Rule, r: Request): boolean => {
  if (rule.users && !rule.users.includes(r.user)) return false;
  if (rule.userGroups && !rule.userGroups.some((g) => r.groups?.includes(g))) return false;
  if (rule.verbs && !rule.verbs.includes(r.verb)) return false;
  if (rule.namespaces && !(r.namespace && rule.namespaces.includes(r.namespace))) return false;
  if (rule.nonResourceURLs) return r.path !== undefined && rule.nonResourceURLs.some((u) => urlMatches(u, r.path!));
  if (rule.resources)
    return r.resource !== undefined && rule.resources.some((g) => g.group === (r.group ?? '') && (!g.resources || g.resources.includes(r.resource!)));
  return true;
};
const levelOf = (r: Request): string => policy.rules.find((rule) => matches(rule, r))?.level ?? 'None';

const admin = { user: 'kubernetes-admin', groups: ['kubeadm:cluster-admins', 'system:authenticated'] };
const node = { user: 'system:node:n1', groups: ['system:nodes', 'system:authenticated'] };

describe('audit policy (kube-up/GCE configure-helper.sh, adapted)', () => {
  it('is an audit.k8s.io/v1 Policy that skips the RequestReceived stage', () => {
    expect(policy).toMatchObject({ apiVersion: 'audit.k8s.io/v1', kind: 'Policy', omitStages: ['RequestReceived'] });
  });

  it.each([
    ['kube-proxy watching endpoints', { user: 'system:kube-proxy', verb: 'watch', resource: 'endpoints' }],
    ['a node reading its Node', { ...node, verb: 'get', resource: 'nodes' }],
    ['a node renewing its lease', { ...node, verb: 'update', group: 'coordination.k8s.io', resource: 'leases', namespace: 'kube-node-lease' }],
    [
      'the scheduler renewing its leader lease',
      { user: 'system:kube-scheduler', verb: 'update', group: 'coordination.k8s.io', resource: 'leases', namespace: 'kube-system' },
    ],
    ['a readiness probe', { ...admin, verb: 'get', path: '/readyz' }],
    ['an event', { user: 'system:kube-controller-manager', verb: 'create', resource: 'events', namespace: 'default' }],
  ])('does not log high-volume, low-risk requests: %s', (_, r) => {
    expect(levelOf(r)).toBe('None');
  });

  it.each([
    ['creating a Secret', { ...admin, verb: 'create', resource: 'secrets', namespace: 'default' }],
    ['reading a Secret', { ...admin, verb: 'get', resource: 'secrets', namespace: 'default' }],
    ['updating a ConfigMap', { ...admin, verb: 'update', resource: 'configmaps', namespace: 'default' }],
    ['requesting a service-account token', { ...admin, verb: 'create', resource: 'serviceaccounts/token', namespace: 'default' }],
    ['a TokenReview', { user: 'system:kube-apiserver', verb: 'create', group: 'authentication.k8s.io', resource: 'tokenreviews' }],
  ])('logs only metadata, never a body, for credentials: %s', (_, r) => {
    expect(levelOf(r)).toBe('Metadata');
  });

  it('logs reads with the request only, writes with request and response, and the rest as metadata', () => {
    expect(levelOf({ ...admin, verb: 'list', resource: 'pods', namespace: 'default' })).toBe('Request');
    expect(levelOf({ ...node, verb: 'patch', resource: 'pods/status', namespace: 'default' })).toBe('Request');
    expect(levelOf({ ...admin, verb: 'create', group: 'apps', resource: 'deployments', namespace: 'default' })).toBe('RequestResponse');
    expect(levelOf({ ...admin, verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings' })).toBe('RequestResponse');
    expect(levelOf({ ...admin, verb: 'create', group: 'example.com', resource: 'widgets', namespace: 'default' })).toBe('Metadata');
    expect(levelOf({ ...admin, verb: 'get', path: '/metrics' })).toBe('Metadata');
  });
});
