import { describe, expect, it } from 'vitest';
import yaml from 'js-yaml';
import type { KubeconfigContent } from './kubeconfig.js';
import { KubeconfigClash, mergeKubeconfig } from './merge.js';

// Ownership needs real certificates (test/integration/cli/kubeconfig.test.ts); here every existing entry is foreign.
const content: KubeconfigContent = {
  clusterName: 'c',
  server: 'https://192.0.2.1:6443',
  user: 'kubernetes-admin',
  caPem: 'CA',
  certPem: 'CERT',
  keyPem: 'KEY',
};

describe('merging into a kubeconfig', () => {
  it('makes a whole kubeconfig from nothing, current-context included', () => {
    const doc = yaml.load(mergeKubeconfig(undefined, { content, context: 'prod' }).text) as Record<string, unknown>;
    expect(doc).toMatchObject({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'prod',
      contexts: [{ name: 'prod', context: { cluster: 'prod', user: 'kubernetes-admin@prod' } }],
    });
    expect(mergeKubeconfig('', { content, context: 'prod' }).text).toBe(mergeKubeconfig(undefined, { content, context: 'prod' }).text);
  });

  it('keeps other entries, keys and scalars as they were read (no timestamps, no YAML 1.1 booleans)', () => {
    const existing = 'kind: Config\napiVersion: v1\ncurrent-context: x\nclusters:\n- name: x\n  cluster: { server: "https://x", extra: 2024-01-01, on: yes }\n';
    const { text, replaced } = mergeKubeconfig(existing, { content, context: 'prod' });
    const doc = yaml.load(text, { schema: yaml.CORE_SCHEMA }) as Record<string, unknown>;
    expect(Object.keys(doc).slice(0, 3)).toEqual(['kind', 'apiVersion', 'current-context']);
    expect(doc['current-context']).toBe('x');
    expect((doc.clusters as unknown[])[0]).toEqual({ name: 'x', cluster: { server: 'https://x', extra: '2024-01-01', on: 'yes' } });
    expect(replaced).toEqual([]);
  });

  it('refuses foreign entries of our names unless forced, naming each', () => {
    const existing = mergeKubeconfig(undefined, { content: { ...content, caPem: 'OTHER' }, context: 'prod' }).text;
    expect(() => mergeKubeconfig(existing, { content, context: 'prod' })).toThrow(KubeconfigClash);
    expect(() => mergeKubeconfig(existing, { content, context: 'prod' })).toThrow(
      'already has a cluster "prod", a user "kubernetes-admin@prod" not belonging to this cluster',
    );
    const forced = mergeKubeconfig(existing, { content, context: 'prod', force: true });
    expect(forced.replaced).toEqual(['cluster "prod"', 'user "kubernetes-admin@prod"', 'context "prod"']);
    expect((yaml.load(forced.text) as { clusters: unknown[] }).clusters).toHaveLength(1);
  });

  it('says when the file is not a kubeconfig', () => {
    expect(() => mergeKubeconfig('- a list', { content, context: 'p' })).toThrow('not a kubeconfig (not a YAML mapping)');
    expect(() => mergeKubeconfig('clusters: {}', { content, context: 'p' })).toThrow('not a kubeconfig: clusters is not a list');
  });
});
