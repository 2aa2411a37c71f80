import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { loadInventoryText } from './load.js';
import { isEtcdOnly, runsLocalLoadBalancer } from './model.js';

const load = (yaml: string) => loadInventoryText(yaml, '/srv/clusters/inventory.yaml').model;

describe('the resolved model', () => {
  it('applies every default from the schema', () => {
    const m = load('hosts:\n  - { name: m1, address: 10.0.0.1, roles: [etcd, master, node] }\n');
    expect(m).toMatchObject({
      name: 'kubernetes',
      kubernetesMinor: '1.34',
      serviceCidr: { text: '10.96.0.0/12' },
      kubernetesServiceIp: '10.96.0.1',
      clusterDnsIp: '10.96.0.10',
      podCidr: { text: '10.244.0.0/16' },
      clusterDomain: 'cluster.local',
      keyAlgorithm: 'rsa-2048',
      caValidityDays: 3650,
      certValidityDays: 365,
      binariesDir: '/srv/clusters/binaries',
      clusterDir: '/srv/clusters/kubernetes',
      apiEndpoint: { host: '10.0.0.1', port: 6443, kind: 'master', url: 'https://10.0.0.1:6443' },
    });
    expect(m.hosts[0]!.ssh).toMatchObject({ user: 'root', port: 22, sudo: false, hostKeyPolicy: 'strict', useAgent: true });
  });

  it('takes the default API endpoint from the first master internal address, not its SSH address', () => {
    const m = load('hosts:\n  - { name: m1, address: m1.example.com, internalAddress: 10.1.0.1, roles: [etcd, master] }\n');
    expect(m.apiEndpoint.url).toBe('https://10.1.0.1:6443');
    expect(m.hosts[0]!.internalAddress).toBe('10.1.0.1');
  });

  it("is node-local by default with several masters: admin.conf's endpoint is the first master's SSH address", () => {
    const { model, warnings } = loadInventoryText(
      'hosts:\n  - { name: m1, address: m1.example.com, internalAddress: 10.1.0.1, roles: [etcd, master] }\n' +
        '  - { name: m2, address: 10.0.0.2, roles: [master] }\n  - { name: n1, address: 10.0.0.3, roles: [node] }\n',
      'i.yaml',
    );
    expect(model.apiEndpoint).toEqual({ host: 'm1.example.com', port: 6443, kind: 'node-local', url: 'https://m1.example.com:6443' });
    expect(warnings).toEqual([]);
    expect(model.hosts.map((h) => runsLocalLoadBalancer(model, h))).toEqual([false, false, true]);
  });

  it.each([
    ['apiEndpointKind: master', 'cluster.apiEndpointKind', 'm1'],
    ['apiEndpoint: 10.0.0.2:6443', 'cluster.apiEndpoint', '10.0.0.2:6443'],
  ])('warns that every client depends on one master when %s is chosen with several masters', (line, path, which) => {
    const { model, warnings } = loadInventoryText(
      `cluster:\n  ${line}\nhosts:\n  - { name: m1, address: 10.0.0.1, roles: [etcd, master] }\n  - { name: m2, address: 10.0.0.2, roles: [master] }\n`,
      'i.yaml',
    );
    expect(model.apiEndpoint.kind).toBe('master');
    expect(warnings).toMatchObject([
      { severity: 'warning', path, line: 2, message: expect.stringContaining(`through one master (${which}), so the whole cluster depends on it`) },
    ]);
  });

  it('merges per-host ssh overrides over the defaults, and sudo follows a non-root user', () => {
    const m = load(
      'ssh: { user: ops, port: 2222, sudoPasswordEnv: SUDO_PW }\nhosts:\n' +
        '  - { name: m1, address: 10.0.0.1, roles: [etcd, master] }\n' +
        '  - { name: n1, address: 10.0.0.2, roles: [node], ssh: { user: root, bastion: { address: 10.0.0.9 } } }\n',
    );
    expect(m.hosts[0]!.ssh).toMatchObject({ user: 'ops', port: 2222, sudo: true, sudoPasswordEnv: 'SUDO_PW' });
    expect(m.hosts[1]!.ssh).toMatchObject({ user: 'root', port: 2222, sudo: false, bastion: { address: '10.0.0.9', user: 'root', port: 22 } });
  });

  it('brackets an IPv6 endpoint and normalises the service CIDR', () => {
    const m = load(
      'cluster: { serviceCidr: "fd00:10:96::/108", podCidr: "fd00:10:244::/56" }\nhosts:\n  - { name: m1, address: "fd00::1", roles: [etcd, master] }\n',
    );
    expect(m.apiEndpoint.url).toBe('https://[fd00::1]:6443');
    expect(m.kubernetesServiceIp).toBe('fd00:10:96::1');
    expect(m.clusterDnsIp).toBe('fd00:10:96::a');
  });

  it('accepts an etcd-only inventory as an external etcd cluster', () => {
    const m = load(readFileSync('examples/etcd-only.yaml', 'utf8'));
    expect(isEtcdOnly(m)).toBe(true);
  });

  it.each(readdirSync('examples').filter((f) => f.endsWith('.yaml')))('example %s is valid', (file) => {
    expect(() => loadInventoryText(readFileSync(`examples/${file}`, 'utf8'), file)).not.toThrow();
  });

  it.each([
    ['ha.yaml', 'node-local'],
    ['ha-vip.yaml', 'vip'],
    ['ha-loadbalancer.yaml', 'loadbalancer'],
  ])('example %s shows the %s endpoint, with no warning', (file, kind) => {
    const { model, warnings } = loadInventoryText(readFileSync(`examples/${file}`, 'utf8'), file);
    expect([model.apiEndpoint.kind, warnings]).toEqual([kind, []]);
  });
});
