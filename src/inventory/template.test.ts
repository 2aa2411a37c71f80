import { describe, expect, it } from 'vitest';
import yaml from 'js-yaml';
import { HA_ALTERNATIVES, renderInventoryReference, renderStarterInventory } from './template.js';
import { loadInventoryText } from './load.js';
import { inventorySchema, type Field } from './schema.js';

const leafPaths = (fields: Readonly<Record<string, Field>>, prefix = ''): string[] =>
  Object.entries(fields).flatMap(([k, f]) =>
    f.kind === 'object'
      ? [`${prefix}${k}`, ...leafPaths(f.fields, `${prefix}${k}.`)]
      : f.kind === 'list' && f.of.kind === 'object'
        ? [`${prefix}${k}`, ...leafPaths(f.of.fields, `${prefix}${k}[].`)]
        : [`${prefix}${k}`],
  );

describe('the starter inventory', () => {
  it.each([
    { masters: 1, nodes: 1, etcd: 0 },
    { masters: 3, nodes: 3, etcd: 0 },
    { masters: 3, nodes: 5, etcd: 3 },
    { masters: 0, nodes: 0, etcd: 3 },
    { masters: 3, nodes: 1000, etcd: 3 }, // past the IPv4 documentation ranges
  ])('passes validation as written for %o', (shape) => {
    const text = renderStarterInventory(shape);
    const { model } = loadInventoryText(text, 'starter.yaml');
    expect(model.hosts.filter((h) => h.roles.includes('master'))).toHaveLength(shape.masters);
    expect(model.hosts.filter((h) => h.roles.includes('node'))).toHaveLength(shape.nodes);
    expect(model.hosts.filter((h) => h.roles.includes('etcd'))).toHaveLength(shape.etcd || shape.masters);
  });

  it('is node-local for several masters, with the vip and loadbalancer forms commented out, each valid once uncommented', () => {
    const text = renderStarterInventory({ masters: 3, nodes: 2, etcd: 0 });
    const { model, warnings } = loadInventoryText(text, 's.yaml');
    expect([model.apiEndpoint.kind, warnings]).toEqual(['node-local', []]);
    for (const alt of HA_ALTERNATIVES) {
      const chosen = text
        .replace('  apiEndpointKind: node-local\n', '')
        .replace(`  #   apiEndpoint: ${alt.endpoint}\n  #   apiEndpointKind: ${alt.kind}`, `  apiEndpoint: ${alt.endpoint}\n  apiEndpointKind: ${alt.kind}`);
      const loaded = loadInventoryText(chosen, 's.yaml').model;
      expect(loaded.apiEndpoint, alt.kind).toMatchObject({ kind: alt.kind, url: `https://${alt.endpoint}` });
    }
  });

  it('leaves the endpoint to the one master otherwise', () => {
    const { model } = loadInventoryText(renderStarterInventory({ masters: 1, nodes: 1, etcd: 0 }), 's.yaml');
    expect(model.apiEndpoint).toMatchObject({ kind: 'master', host: '192.0.2.11' });
  });

  it('explains every cluster and ssh field in a comment', () => {
    const text = renderStarterInventory({ masters: 1, nodes: 1, etcd: 0 });
    const cluster = inventorySchema.fields.cluster as Extract<Field, { kind: 'object' }>;
    for (const [key, field] of Object.entries(cluster.fields)) {
      expect(text).toContain(`# ${field.doc}`);
      expect(text).toMatch(new RegExp(`^  (# )?${key}:`, 'm'));
    }
    expect(Object.keys(yaml.load(text) as object)).toEqual(['cluster', 'ssh', 'hosts']);
  });
});

describe('the inventory reference', () => {
  it('has one row for every field of the schema', () => {
    const table = renderInventoryReference();
    for (const path of leafPaths(inventorySchema.fields)) expect(table).toContain(`| \`${path}\` |`);
  });
});

describe('README.md', () => {
  it('carries the inventory reference generated from the schema (npm run docs:inventory)', async () => {
    const { readFileSync } = await import('node:fs');
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.split('<!-- inventory-reference:start -->\n')[1]?.split('\n<!-- inventory-reference:end -->')[0];
    expect(section).toBe(renderInventoryReference());
  });
});
