// The table of bad inventories: each must be refused with a message an operator can act on,
// naming the field (and line, where the YAML parser can tell), and never with a crash.
import { describe, expect, it } from 'vitest';
import { loadInventoryText } from './load.js';
import { InventoryError, type Problem } from '../util/errors.js';

const host = (name: string, address: string, roles: string, extra = ''): string =>
  `  - { name: ${name}, address: ${address}, roles: [${roles}]${extra ? `, ${extra}` : ''} }`;
const inv = (cluster: string, hosts: string[], ssh = ''): string =>
  `cluster:\n${cluster || '  name: test'}\n${ssh ? `ssh:\n${ssh}\n` : ''}hosts:\n${hosts.join('\n')}\n`;
const OK_HOSTS = [host('m1', '10.0.0.1', 'etcd, master'), host('n1', '10.0.0.2', 'node')];
/** A third host in block form (each key on its own line, from line 6), with these lines under it. */
const withN2 = (lines: string): string => inv('', [...OK_HOSTS, `  - name: n2\n    address: 10.0.0.3\n    roles: [node]\n${lines}`]);

interface Case {
  readonly name: string;
  readonly yaml: string;
  /** Expected: a problem whose path and message match. */
  readonly path: string;
  readonly message: RegExp;
  readonly line?: number;
}

const cases: Case[] = [
  // Not an inventory at all
  { name: 'empty file', yaml: '', path: '', message: /inventory is empty/ },
  { name: 'only a comment', yaml: '# nothing\n', path: '', message: /inventory is empty/ },
  { name: 'a list instead of a map', yaml: '- a\n- b\n', path: '', message: /must be a mapping.*got a list/ },
  { name: 'a scalar', yaml: 'hello\n', path: '', message: /must be a mapping.*got the string "hello"/ },
  { name: 'a number', yaml: '42\n', path: '', message: /must be a mapping.*number 42/ },
  { name: 'NUL bytes (binary garbage)', yaml: 'a\u0000\u0001\u0002b', path: '', message: /NUL bytes/ },
  { name: 'control characters', yaml: 'a: "\u0007"\u0008\n', path: '', message: /YAML syntax error/ },
  { name: 'bad indentation', yaml: 'cluster:\n  name: a\n   bad: b\n', path: '', message: /YAML syntax error/, line: 3 },
  { name: 'unclosed flow', yaml: 'hosts: [ {name: a\n', path: '', message: /YAML syntax error/ },
  { name: 'tab indentation', yaml: 'cluster:\n\tname: a\n', path: '', message: /YAML syntax error/, line: 2 },
  { name: 'duplicate key', yaml: 'cluster: {}\ncluster: {}\nhosts: []\n', path: '', message: /duplicated mapping key/, line: 2 },
  { name: 'deeply nested', yaml: '['.repeat(5000) + ']'.repeat(5000), path: '', message: /YAML syntax error: nesting exceeded|nested too deeply/ },
  { name: 'unknown alias', yaml: 'hosts: *nothing\n', path: '', message: /YAML syntax error.*unidentified alias/ },
  { name: 'too large (2 MiB)', yaml: '#'.repeat(2 * 1024 * 1024), path: '', message: /at most 1 MiB/ },
  { name: 'multiple documents', yaml: 'a: 1\n---\nb: 2\n', path: '', message: /YAML syntax error.*single document/ },
  // Structure
  { name: 'hosts missing', yaml: 'cluster:\n  name: a\n', path: 'hosts', message: /"hosts" is required/ },
  { name: 'hosts empty', yaml: inv('', []).replace('hosts:\n', 'hosts: []\n'), path: 'hosts', message: /at least 1 item/ },
  { name: 'hosts is a map', yaml: 'hosts:\n  a: 1\n', path: 'hosts', message: /expected a list, got a mapping/, line: 1 },
  { name: 'cluster is a list', yaml: `cluster: [1]\nhosts:\n${OK_HOSTS.join('\n')}\n`, path: 'cluster', message: /expected a mapping/, line: 1 },
  {
    name: 'unknown top-level key',
    yaml: `clustr:\n  name: a\nhosts:\n${OK_HOSTS.join('\n')}\n`,
    path: 'clustr',
    message: /unknown key "clustr" \(did you mean "cluster"\?\)/,
    line: 1,
  },
  {
    name: 'unknown cluster key',
    yaml: inv('  name: a\n  serviceCIDR: 10.96.0.0/12', OK_HOSTS),
    path: 'cluster.serviceCIDR',
    message: /did you mean "serviceCidr"/,
    line: 3,
  },
  {
    name: 'unknown host key',
    yaml: inv('', [host('m1', '10.0.0.1', 'etcd, master', 'adress: 1.2.3.4')]),
    path: 'hosts[0].adress',
    message: /did you mean "address"/,
  },
  { name: 'unknown ssh key', yaml: inv('', OK_HOSTS, '  usr: root'), path: 'ssh.usr', message: /did you mean "user"/ },
  { name: 'host is a string', yaml: inv('', ['  - m1']), path: 'hosts[0]', message: /expected a mapping.*"m1"/ },
  { name: 'missing host name', yaml: inv('', ['  - { address: 10.0.0.1, roles: [etcd, master] }']), path: 'hosts[0].name', message: /"name" is required/ },
  { name: 'missing host address', yaml: inv('', ['  - { name: m1, roles: [etcd, master] }']), path: 'hosts[0].address', message: /"address" is required/ },
  { name: 'missing roles', yaml: inv('', ['  - { name: m1, address: 10.0.0.1 }']), path: 'hosts[0].roles', message: /"roles" is required/ },
  { name: 'empty roles', yaml: inv('', [host('m1', '10.0.0.1', '')]), path: 'hosts[0].roles', message: /at least 1 item/ },
  {
    name: 'unknown role',
    yaml: inv('', [host('m1', '10.0.0.1', 'etcd, master, worker')]),
    path: 'hosts[0].roles[2]',
    message: /"worker" is not one of etcd, master, node/,
  },
  { name: 'role typo', yaml: inv('', [host('m1', '10.0.0.1', 'etcd, mastr')]), path: 'hosts[0].roles[1]', message: /did you mean "master"/ },
  { name: 'role listed twice', yaml: inv('', [host('m1', '10.0.0.1', 'etcd, master, etcd')]), path: 'hosts[0].roles[2]', message: /listed twice/ },
  // Node labels and taints (a line each: the block form puts every key on its own line)
  {
    name: 'label key with a space',
    yaml: withN2('    labels:\n      "bad key": x'),
    path: 'hosts[2].labels.bad key',
    message: /"bad key" is not a valid label key/,
    line: 10,
  },
  {
    name: 'label key prefix not a DNS name',
    yaml: withN2('    labels:\n      Example.COM/x: y'),
    path: 'hosts[2].labels.Example.COM/x',
    message: /prefix "Example.COM" is not a DNS subdomain/,
    line: 10,
  },
  {
    name: 'label value too long',
    yaml: withN2(`    labels:\n      zone: ${'a'.repeat(64)}`),
    path: 'hosts[2].labels.zone',
    message: /is not a valid label value/,
    line: 10,
  },
  {
    name: 'label value a number',
    yaml: withN2('    labels:\n      rack: 12'),
    path: 'hosts[2].labels.rack',
    message: /expected a string, got number 12 \(quote it/,
    line: 10,
  },
  {
    name: 'taint effect typo',
    yaml: withN2('    taints:\n      - key: gpu\n        effect: NoSchedul'),
    path: 'hosts[2].taints[0].effect',
    message: /"NoSchedul" is not one of NoSchedule, PreferNoSchedule, NoExecute \(did you mean "NoSchedule"\?\)/,
    line: 11,
  },
  { name: 'taint without effect', yaml: withN2('    taints:\n      - key: gpu'), path: 'hosts[2].taints[0].effect', message: /"effect" is required/ },
  {
    name: 'taint value invalid',
    yaml: withN2('    taints:\n      - { key: gpu, value: "a b", effect: NoSchedule }'),
    path: 'hosts[2].taints[0].value',
    message: /"a b" is not a valid label value/,
    line: 10,
  },
  {
    name: 'taint listed twice',
    yaml: withN2('    taints:\n      - { key: gpu, effect: NoSchedule }\n      - { key: gpu, value: x, effect: NoSchedule }'),
    path: 'hosts[2].taints[1]',
    message: /same key and effect as item 0/,
    line: 11,
  },
  // Types
  { name: 'port as string', yaml: inv('', OK_HOSTS, '  port: "22"'), path: 'ssh.port', message: /expected a whole number, got the string "22"/ },
  { name: 'port out of range', yaml: inv('', OK_HOSTS, '  port: 70000'), path: 'ssh.port', message: /70000 is out of range \(1 to 65535\)/ },
  { name: 'port zero', yaml: inv('', [host('m1', '10.0.0.1', 'etcd, master', 'ssh: { port: 0 }')]), path: 'hosts[0].ssh.port', message: /out of range/ },
  { name: 'api server port out of range', yaml: inv('  apiServerPort: 99999', OK_HOSTS), path: 'cluster.apiServerPort', message: /out of range/ },
  { name: 'fractional validity', yaml: inv('  certValidityDays: 1.5', OK_HOSTS), path: 'cluster.certValidityDays', message: /whole number/ },
  { name: 'version as a number', yaml: inv('  kubernetesVersion: 1.34', OK_HOSTS), path: 'cluster.kubernetesVersion', message: /expected a string.*quote it/ },
  { name: 'bool as string', yaml: inv('', OK_HOSTS, '  useAgent: "yes"'), path: 'ssh.useAgent', message: /expected true or false/ },
  { name: 'null name', yaml: inv('', ['  - { name: null, address: 10.0.0.1, roles: [etcd, master] }']), path: 'hosts[0].name', message: /"name" is required/ },
  { name: 'unknown key algorithm', yaml: inv('  keyAlgorithm: rsa-1024', OK_HOSTS), path: 'cluster.keyAlgorithm', message: /not one of rsa-2048/ },
  { name: 'unknown host key policy', yaml: inv('', OK_HOSTS, '  hostKeyPolicy: accept'), path: 'ssh.hostKeyPolicy', message: /did you mean "accept-new"/ },
  { name: 'env name with spaces', yaml: inv('', OK_HOSTS, '  passwordEnv: "MY PASS"'), path: 'ssh.passwordEnv', message: /not an environment variable name/ },
  // Addresses and names
  {
    name: 'invalid IPv4',
    yaml: inv('', [host('m1', '10.0.0.300', 'etcd, master')]),
    path: 'hosts[0].address',
    message: /neither a valid IP address nor a valid host name/,
  },
  { name: 'invalid IPv6', yaml: inv('', [host('m1', '"fe80:::1"', 'etcd, master')]), path: 'hosts[0].address', message: /neither a valid IP/ },
  {
    name: 'invalid internal address',
    yaml: inv('', [host('m1', '10.0.0.1', 'etcd, master', 'internalAddress: 10.0.0')]),
    path: 'hosts[0].internalAddress',
    message: /not a valid IPv4 or IPv6 address/,
  },
  { name: 'invalid host name', yaml: inv('', [host('Master_1', '10.0.0.1', 'etcd, master')]), path: 'hosts[0].name', message: /not a valid name \(RFC 1123/ },
  { name: 'host name too long label', yaml: inv('', [host('a'.repeat(64), '10.0.0.1', 'etcd, master')]), path: 'hosts[0].name', message: /RFC 1123/ },
  {
    name: 'DNS address without internal address',
    yaml: inv('', [host('m1', 'm1.example.com', 'etcd, master')]),
    path: 'hosts[0].internalAddress',
    message: /is a host name, so internalAddress .* is required/,
  },
  {
    name: 'duplicate host names',
    yaml: inv('', [host('m1', '10.0.0.1', 'etcd, master'), host('m1', '10.0.0.2', 'node')]),
    path: 'hosts[1].name',
    message: /host name "m1" is also used by hosts\[0\]/,
  },
  {
    name: 'duplicate addresses',
    yaml: inv('', [host('m1', '10.0.0.1', 'etcd, master'), host('n1', '10.0.0.1', 'node')]),
    path: 'hosts[1].address',
    message: /address "10.0.0.1" is also used by hosts\[0\]/,
  },
  {
    name: 'duplicate internal addresses',
    yaml: inv('', [host('m1', '10.0.0.1', 'etcd, master', 'internalAddress: 10.1.0.1'), host('n1', '10.0.0.2', 'node', 'internalAddress: 10.1.0.1')]),
    path: 'hosts[1].internalAddress',
    message: /internal address "10.1.0.1" is also used/,
  },
  { name: 'bastion without address', yaml: inv('', OK_HOSTS, '  bastion:\n    user: jump'), path: 'ssh.bastion.address', message: /"address" is required/ },
  // A zone id is valid to node:net but cannot be put in a certificate's IP SAN (it was silently dropped).
  {
    name: 'IPv6 zone id in address',
    yaml: inv('', [host('m1', '"fe80::1%eth0"', 'etcd, master')]),
    path: 'hosts[0].address',
    message: /"fe80::1%eth0" has an IPv6 zone id \(%eth0\), which a certificate cannot name/,
  },
  {
    name: 'IPv6 zone id in internal address',
    yaml: inv('', [host('m1', '10.0.0.1', 'etcd, master', 'internalAddress: "fe80::1%eth0"')]),
    path: 'hosts[0].internalAddress',
    message: /IPv6 zone id/,
  },
  {
    name: 'IPv6 zone id in an extra SAN',
    yaml: inv('  apiServerExtraSans: ["fe80::2%2"]', OK_HOSTS),
    path: 'cluster.apiServerExtraSans[0]',
    message: /"fe80::2%2" has an IPv6 zone id/,
  },
  {
    name: 'extra SAN invalid',
    yaml: inv('  apiServerExtraSans: ["bad name"]', OK_HOSTS),
    path: 'cluster.apiServerExtraSans[0]',
    message: /neither an IP address nor a DNS name/,
  },
  // Roles and topology
  {
    name: 'no etcd member',
    yaml: inv('', [host('m1', '10.0.0.1', 'master'), host('n1', '10.0.0.2', 'node')]),
    path: 'hosts',
    message: /no host has the role "etcd"/,
  },
  {
    name: 'no master',
    yaml: inv('', [host('e1', '10.0.0.1', 'etcd'), host('n1', '10.0.0.2', 'node')]),
    path: 'hosts',
    message: /no host has the role "master"/,
  },
  // Networks
  { name: 'service CIDR not a CIDR', yaml: inv('  serviceCidr: 10.96.0.0', OK_HOSTS), path: 'cluster.serviceCidr', message: /not a CIDR/ },
  {
    name: 'service CIDR host bits',
    yaml: inv('  serviceCidr: 10.96.0.1/12', OK_HOSTS),
    path: 'cluster.serviceCidr',
    message: /host bits set \(did you mean 10.96.0.0\/12\?\)/,
  },
  { name: 'pod CIDR bad prefix', yaml: inv('  podCidr: 10.244.0.0/33', OK_HOSTS), path: 'cluster.podCidr', message: /prefix \/33/ },
  {
    name: 'pod overlaps service',
    yaml: inv('  serviceCidr: 10.96.0.0/12\n  podCidr: 10.100.0.0/16', OK_HOSTS),
    path: 'cluster.podCidr',
    message: /overlaps service CIDR/,
  },
  { name: 'mixed families', yaml: inv('  podCidr: "fd00::/48"', OK_HOSTS), path: 'cluster.podCidr', message: /different IP families/ },
  // The pod network
  {
    name: 'a pod CIDR too small for a subnet per kubelet host',
    yaml: inv('  podCidr: 10.244.0.0/24', OK_HOSTS),
    path: 'cluster.podCidr',
    message: /10\.244\.0\.0\/24 holds 1 \/24 pod subnet, fewer than the 2 kubelet hosts .*larger podCidr or a longer cluster\.network\.nodeSubnetSize/,
  },
  {
    name: 'node subnets larger than the pod CIDR',
    yaml: inv('  podCidr: 10.244.0.0/16\n  network: { nodeSubnetSize: 12 }', OK_HOSTS),
    path: 'cluster.network.nodeSubnetSize',
    message: /\/12 is larger than the pod CIDR 10\.244\.0\.0\/16/,
  },
  {
    name: 'node subnets with no room for pods',
    yaml: inv('  network: { nodeSubnetSize: 31 }', OK_HOSTS),
    path: 'cluster.network.nodeSubnetSize',
    message: /leaves no room for pods \(at most \/30\)/,
  },
  {
    name: 'an unknown network plugin',
    yaml: inv('  network: { plugin: flannel }', OK_HOSTS),
    path: 'cluster.network.plugin',
    message: /not one of bridge, none, manifest/,
  },
  {
    name: 'plugin manifest without its file',
    yaml: inv('  network: { plugin: manifest }', OK_HOSTS),
    path: 'cluster.network.manifest',
    message: /needs the manifest file/,
  },
  {
    name: 'a manifest file that is not there',
    yaml: inv('  network: { plugin: manifest, manifest: /nonexistent/calico.yaml }', OK_HOSTS),
    path: 'cluster.network.manifest',
    message: /\/nonexistent\/calico\.yaml: cannot read it/,
  },
  { name: 'host inside service CIDR', yaml: inv('', [host('m1', '10.96.0.5', 'etcd, master')]), path: 'hosts[0].address', message: /inside the service CIDR/ },
  {
    name: 'host inside pod CIDR',
    yaml: inv('', [host('m1', '10.0.0.1', 'etcd, master', 'internalAddress: 10.244.3.3')]),
    path: 'hosts[0].internalAddress',
    message: /inside the pod CIDR/,
  },
  { name: 'service CIDR too small', yaml: inv('  serviceCidr: 10.96.0.0/29', OK_HOSTS), path: 'cluster.serviceCidr', message: /too small/ },
  {
    name: 'service CIDR too large',
    yaml: inv('  serviceCidr: 10.0.0.0/8\n  podCidr: 172.16.0.0/16', [host('m1', '192.168.0.1', 'etcd, master')]),
    path: 'cluster.serviceCidr',
    message: /too large/,
  },
  // API endpoint
  {
    name: 'endpoint not a master nor VIP',
    yaml: inv('  apiEndpoint: 10.0.0.99:6443', OK_HOSTS),
    path: 'cluster.apiEndpoint',
    message: /neither a master's name or address nor declared as a VIP/,
  },
  {
    name: "endpoint that is a master's SSH address, not its internalAddress",
    yaml: inv('  apiEndpoint: 10.0.0.1:6443', [host('m1', '10.0.0.1', 'etcd, master', 'internalAddress: 10.1.0.1'), host('n1', '10.0.0.2', 'node')]),
    path: 'cluster.apiEndpoint',
    message: /"10\.0\.0\.1" is the SSH address of master m1, not its internalAddress 10\.1\.0\.1: .*write 10\.1\.0\.1/,
  },
  {
    name: 'node-local with an endpoint',
    yaml: inv('  apiEndpoint: 10.0.0.1:6443\n  apiEndpointKind: node-local', OK_HOSTS),
    path: 'cluster.apiEndpoint',
    message: /node-local takes no apiEndpoint/,
  },
  {
    name: 'node-local without a master',
    yaml: inv('  apiEndpointKind: node-local', [host('e1', '10.0.0.1', 'etcd')]),
    path: 'cluster.apiEndpointKind',
    message: /needs at least one host with the role master/,
  },
  { name: 'VIP kind without endpoint', yaml: inv('  apiEndpointKind: vip', OK_HOSTS), path: 'cluster.apiEndpoint', message: /apiEndpoint .* is required/ },
  {
    name: 'VIP that is a master address',
    yaml: inv('  apiEndpoint: 10.0.0.1\n  apiEndpointKind: vip', OK_HOSTS),
    path: 'cluster.apiEndpointKind',
    message: /is a master's own address/,
  },
  { name: 'endpoint port out of range', yaml: inv('  apiEndpoint: 10.0.0.1:0', OK_HOSTS), path: 'cluster.apiEndpoint', message: /port "0" .* out of range/ },
  { name: 'endpoint garbage', yaml: inv('  apiEndpoint: "http://x"', OK_HOSTS), path: 'cluster.apiEndpoint', message: /is a URL; write host\[:port\]/ },
  {
    name: 'VIP inside service CIDR',
    yaml: inv('  apiEndpoint: 10.96.0.50\n  apiEndpointKind: vip', OK_HOSTS),
    path: 'cluster.apiEndpoint',
    message: /inside the service or pod CIDR/,
  },
  // Versions
  {
    name: 'unsupported Kubernetes version',
    yaml: inv('  kubernetesVersion: "1.20.1"', OK_HOSTS),
    path: 'cluster.kubernetesVersion',
    message: /1.20.1 is not supported; supported minors/,
  },
  {
    name: 'malformed version',
    yaml: inv('  kubernetesVersion: "latest"', OK_HOSTS),
    path: 'cluster.kubernetesVersion',
    message: /not a version of the form x.y.z/,
  },
  { name: 'unsupported etcd version', yaml: inv('  etcdVersion: "3.3.0"', OK_HOSTS), path: 'cluster.etcdVersion', message: /etcd 3.3.0 is not supported/ },
];

const problemsOf = (yaml: string, opts = {}): Problem[] => {
  try {
    loadInventoryText(yaml, 'cluster.yaml', opts);
  } catch (err) {
    if (err instanceof InventoryError) return [...err.problems];
    throw err; // anything else is a crash: the test fails
  }
  return [];
};

describe('bad inventories are refused with an actionable message', () => {
  it('has a table of at least 50 cases', () => expect(cases.length).toBeGreaterThanOrEqual(50));

  it.each(cases)('$name', ({ yaml, path, message, line }) => {
    const problems = problemsOf(yaml);
    const match = problems.find((p) => p.severity === 'error' && p.path === path && message.test(p.message));
    expect(match, `problems were:\n${problems.map((p) => `${p.path}: ${p.message}`).join('\n')}`).toBeDefined();
    expect(match!.file).toBe('cluster.yaml');
    if (line !== undefined) expect(match!.line).toBe(line);
  });
});

describe('validation reports every problem, not only the first', () => {
  it('lists three independent errors at once, each with its line', () => {
    const yaml = inv('  serviceCidr: nope\n  keyAlgorithm: dsa', [host('m1', '10.0.0.999', 'etcd, master')]);
    const problems = problemsOf(yaml);
    expect(problems.map((p) => [p.path, p.line])).toEqual([
      ['cluster.serviceCidr', 2],
      ['cluster.keyAlgorithm', 3],
      ['hosts[0].address', 5],
    ]);
  });
});

describe('hostile YAML neither hangs nor explodes', () => {
  it('an alias bomb is read as shared references and refused quickly', () => {
    const levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 12; i++)
      levels.push(
        `${'b'.repeat(i)}: &${'a'.repeat(i + 1)} [${Array(9)
          .fill(`*${'a'.repeat(i)}`)
          .join(',')}]`,
      );
    const started = Date.now();
    const problems = problemsOf(`${levels.join('\n')}\nhosts: *${'a'.repeat(12)}\n`);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(problems.some((p) => p.path === 'a' && /unknown key/.test(p.message))).toBe(true);
  });

  it('a flood of problems is summarised', () => {
    const hosts = Array.from({ length: 200 }, (_, i) => host(`h${i}`, 'bad..address', 'etcd'));
    const problems = problemsOf(inv('', hosts));
    expect(problems.length).toBe(51);
    expect(problems.at(-1)!.message).toMatch(/and 150 more problems/);
  });
});

describe('warnings do not stop a valid inventory', () => {
  it('warns about an even number of etcd members and a literal password', () => {
    const { warnings } = loadInventoryText(
      inv('', [host('m1', '10.0.0.1', 'etcd, master'), host('m2', '10.0.0.2', 'etcd, master')], '  password: hunter2'),
      'cluster.yaml',
    );
    expect(warnings.map((w) => w.path)).toEqual(['ssh.password', 'hosts']);
    expect(warnings.every((w) => !w.message.includes('hunter2'))).toBe(true);
  });
});

describe('deploy-only checks', () => {
  it('a missing binaries folder is an error only when deploy needs it', () => {
    const yaml = inv('  binariesDir: /nonexistent/bin', OK_HOSTS);
    expect(problemsOf(yaml)).toEqual([]);
    const problems = problemsOf(yaml, { requireBinaries: true });
    expect(problems[0]).toMatchObject({ path: 'cluster.binariesDir', message: expect.stringMatching(/\/nonexistent\/bin does not exist/) });
  });
});
