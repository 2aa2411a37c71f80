// The starter inventory and the inventory reference, both generated from the schema table.
import yaml from 'js-yaml';
import type { Field, ObjectField } from './schema.js';
import { inventorySchema } from './schema.js';
import { runsKubelet, type ApiEndpointKind, type Role } from './model.js';

export interface StarterShape {
  readonly masters: number;
  readonly nodes: number;
  /** Dedicated etcd hosts; 0 stacks etcd on the masters. */
  readonly etcd: number;
}

const scalar = (v: unknown): string => yaml.dump(v, { flowLevel: 0 }).trim();

const defaultOf = (f: Field): unknown => ('default' in f && f.default !== undefined ? f.default : undefined);

/** `key: value` lines with a one-line explanation above each; optional fields without a default are commented out. */
const renderFields = (fields: ObjectField['fields'], indent: string): string[] =>
  Object.entries(fields).flatMap(([key, f]) => {
    const lines = [`${indent}# ${f.doc}${(f.kind === 'bool' || f.kind === 'int') && f.defaultText ? ` Default: ${f.defaultText}.` : ''}`];
    const def = defaultOf(f);
    if (f.kind === 'object') {
      lines.push(`${indent}# ${key}:`);
      for (const [k, sub] of Object.entries(f.fields)) {
        const v = defaultOf(sub) ?? (sub.kind === 'string' ? sub.example : undefined);
        if (v !== undefined) lines.push(`${indent}#   ${k}: ${scalar(v)}`);
      }
    } else if (f.kind === 'map') {
      lines.push(`${indent}# ${key}:`, ...Object.entries(f.example ?? {}).map(([k, v]) => `${indent}#   ${k}: ${scalar(v)}`));
    } else if (def !== undefined) {
      lines.push(`${indent}${key}: ${scalar(def)}`);
    } else if (f.kind === 'list') {
      lines.push(`${indent}${key}: []`);
    } else {
      const example = f.kind === 'string' ? f.example : undefined;
      lines.push(`${indent}# ${key}: ${example !== undefined ? scalar(example) : ''}`.trimEnd());
    }
    return lines;
  });

// Documentation ranges (RFC 5737, RFC 3849): obviously placeholders, never somebody's real machine.
const PLACEHOLDER_V4_NETS = ['192.0.2', '198.51.100', '203.0.113'] as const;
/** The VIP shown (commented out) in a starter with several masters; no host gets it. */
const PLACEHOLDER_VIP = '192.0.2.100';

/** A starter with several masters is node-local; these are the other HA forms, shown commented out. */
export const HA_ALTERNATIVES: readonly { readonly kind: ApiEndpointKind; readonly endpoint: string; readonly what: string }[] = [
  { kind: 'vip', endpoint: `${PLACEHOLDER_VIP}:6443`, what: 'a floating IP the masters hold (keepalived), in their subnet' },
  { kind: 'loadbalancer', endpoint: 'k8s-api.example.com:6443', what: 'an external TCP load balancer of yours in front of every master' },
];

const haAlternatives = (): string[] => [
  '  # Instead of node-local, one address every client uses:',
  ...HA_ALTERNATIVES.flatMap((a) => [`  #   ${a.what}:`, `  #   apiEndpoint: ${a.endpoint}`, `  #   apiEndpointKind: ${a.kind}`]),
];

/** Host addresses for any number of hosts: 192.0.2.11 onwards, the other IPv4 documentation nets, then 2001:db8::/32. */
function* placeholderAddresses(): Generator<string> {
  for (const [i, net] of PLACEHOLDER_V4_NETS.entries()) {
    for (let n = i === 0 ? 11 : 1; n <= 254; n++) if (`${net}.${n}` !== PLACEHOLDER_VIP) yield `${net}.${n}`;
  }
  for (let n = 1; ; n++) yield `2001:db8::${n.toString(16)}`;
}

/** The default pod CIDR's /24s (one a kubelet host) run out past 256 hosts: a larger range then, clear of the default service CIDR. */
const starterPodCidr = (kubeletHosts: number): string | undefined => {
  const bits = Math.ceil(Math.log2(Math.max(kubeletHosts, 1)));
  if (bits <= 8) return undefined;
  const prefix = 24 - bits;
  return prefix >= 12 ? `10.${244 & (0xff << (16 - prefix))}.0.0/${prefix}` : `10.128.0.0/${prefix}`;
};

/** The hosts of a cluster of this shape, named and given roles (the starter inventory's, and the lab's). */
export const shapeHosts = ({ masters, nodes, etcd }: StarterShape): { name: string; roles: Role[] }[] => {
  const hosts: { name: string; roles: Role[] }[] = [];
  const add = (name: string, roles: Role[]): void => void hosts.push({ name, roles });
  for (let i = 1; i <= etcd; i++) add(`etcd-${i}`, ['etcd']);
  for (let i = 1; i <= masters; i++) add(`master-${i}`, etcd > 0 ? ['master'] : ['etcd', 'master']);
  if (masters + etcd === 0) add('etcd-1', ['etcd']);
  for (let i = 1; i <= nodes; i++) add(`node-${i}`, ['node']);
  return hosts;
};

const starterHosts = (shape: StarterShape): { name: string; address: string; roles: Role[] }[] => {
  const addresses = placeholderAddresses();
  return shapeHosts(shape).map((h) => ({ ...h, address: addresses.next().value! }));
};

export const renderStarterInventory = (shape: StarterShape): string => {
  const schemaFields = inventorySchema.fields;
  const cluster = schemaFields.cluster as ObjectField;
  const ssh = schemaFields.ssh as ObjectField;
  const hostFields = ((schemaFields.hosts as Extract<Field, { kind: 'list' }>).of as ObjectField).fields;
  const hosts = starterHosts(shape);
  const masters = hosts.filter((h) => h.roles.includes('master'));
  const ha = masters.length > 1;
  // Several masters: node-local (every node balances over all masters itself), written out so it is seen.
  const podCidr = starterPodCidr(hosts.filter(runsKubelet).length);
  const clusterLines = renderFields(cluster.fields, '  ').flatMap((line) =>
    ha && line.startsWith('  # apiEndpointKind:')
      ? ['  apiEndpointKind: node-local', ...haAlternatives()]
      : podCidr && line.startsWith('  podCidr:')
        ? [`  podCidr: ${podCidr}`]
        : [line],
  );
  // The first host shows where its Node's labels go (commented out, as every optional field).
  const hostLines = hosts.flatMap((h, i) => [
    `  - name: ${h.name}`,
    `    address: ${h.address}`,
    `    roles: [${h.roles.join(', ')}]`,
    ...(i === 0 ? renderFields({ labels: hostFields.labels! }, '    ') : []),
  ]);
  return [
    '# kubeinstall inventory: the one file that describes your cluster.',
    '# Check it with `kubeinstall inventory check -i <file>`; every key is explained in README.md.',
    '# Replace the placeholder addresses (documentation ranges such as 192.0.2.x) with your machines.',
    '',
    'cluster:',
    ...clusterLines,
    '',
    '# SSH defaults for every host; a host may override any of them under its own `ssh:`.',
    'ssh:',
    ...renderFields(ssh.fields, '  '),
    '',
    '# Host fields:',
    ...Object.entries(hostFields).map(([k, f]) => `#   ${k}: ${f.doc}`),
    'hosts:',
    ...hostLines,
    '',
  ].join('\n');
};

/** The inventory reference as a Markdown table, for the README. */
export const renderInventoryReference = (): string => {
  const rows: string[] = ['| field | type | default | meaning |', '|---|---|---|---|'];
  const typeOf = (f: Field): string =>
    f.kind === 'enum'
      ? f.values.map((v) => `\`${v}\``).join(' \\| ')
      : f.kind === 'list'
        ? `list of ${typeOf(f.of)}`
        : f.kind === 'map'
          ? `mapping of ${f.key}: ${typeOf(f.of)}`
          : f.kind === 'int'
            ? `int ${f.min}-${f.max}`
            : f.kind === 'string' && f.format
              ? `string (${f.format})`
              : f.kind === 'object'
                ? 'mapping'
                : f.kind;
  const walk = (fields: ObjectField['fields'], prefix: string): void => {
    for (const [k, f] of Object.entries(fields)) {
      const path = `${prefix}${k}`;
      const def = defaultOf(f);
      const defText = f.required
        ? '**required**'
        : def !== undefined
          ? `\`${String(def)}\``
          : (f.kind === 'bool' || f.kind === 'int') && f.defaultText
            ? f.defaultText
            : '';
      rows.push(`| \`${path}\` | ${f.kind === 'object' ? 'mapping' : typeOf(f)} | ${defText} | ${f.doc.replace(/\|/g, '\\|')} |`);
      if (f.kind === 'object') walk(f.fields, `${path}.`);
      if (f.kind === 'list' && f.of.kind === 'object') walk(f.of.fields, `${path}[].`);
    }
  };
  walk(inventorySchema.fields, '');
  return rows.join('\n');
};
