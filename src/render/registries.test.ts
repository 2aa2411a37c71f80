import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadInventoryText } from '../inventory/load.js';
import { InventoryError } from '../util/errors.js';
import { loadRegistryInputs } from './load.js';
import { buildClusterPlan } from './plan.js';
import { NO_REGISTRY_INPUTS, renderRegistries } from './registries.js';
import { ALL_BINARIES, binaryIndexFor, clusterFilesFor, modelFrom } from './test-fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'ki-registries-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
writeFileSync(join(dir, 'ca.crt'), CA);

const HOSTS = '  - { name: m1, address: 127.0.12.1, roles: [etcd, master] }\n  - { name: n1, address: 127.0.12.11, roles: [node] }\n';
const REGISTRIES = [
  '  registries:',
  '    - host: docker.io',
  '      mirrors: ["https://198.18.61.1:5000", "http://198.18.61.1:5001"]',
  `      caFile: ${join(dir, 'ca.crt')}`,
  '      usernameEnv: MIRROR_USER',
  '      passwordEnv: MIRROR_PASSWORD',
  '    - host: registry.k8s.io',
  '      mirrors: ["https://198.18.61.1:5000/k8s"]',
  '',
].join('\n');
const model = modelFrom(HOSTS, REGISTRIES);
const ENV = { MIRROR_USER: 'puller', MIRROR_PASSWORD: 's3cret pass' };

describe('registry mirrors (cluster.registries)', () => {
  it('renders one hosts.toml per registry: mirrors in order, the CA on https mirrors, basic auth as a header in a 0600 file', async () => {
    const { files } = renderRegistries(model.registries, await loadRegistryInputs(model.registries, ENV));
    expect(files.map((f) => [f.path, f.mode.toString(8)])).toEqual([
      ['/etc/containerd/certs.d/docker.io/hosts.toml', '600'],
      ['/etc/containerd/certs.d/docker.io/ca.crt', '644'],
      ['/etc/containerd/certs.d/registry.k8s.io/hosts.toml', '644'],
    ]);
    const auth = `Basic ${Buffer.from('puller:s3cret pass').toString('base64')}`;
    expect(files[0]!.data.toString()).toBe(
      [
        '# kubeinstall: mirrors of docker.io (cluster.registries), tried in order before docker.io itself.',
        '',
        '[host."https://198.18.61.1:5000"]',
        '  capabilities = ["pull", "resolve"]',
        '  ca = "/etc/containerd/certs.d/docker.io/ca.crt"',
        '  [host."https://198.18.61.1:5000".header]',
        `    Authorization = "${auth}"`,
        '',
        '[host."http://198.18.61.1:5001"]',
        '  capabilities = ["pull", "resolve"]',
        '  [host."http://198.18.61.1:5001".header]',
        `    Authorization = "${auth}"`,
        '',
      ].join('\n'),
    );
    expect(files[1]!.data.toString()).toBe(CA);
    expect(files.every((f) => f.restarts.length === 0)).toBe(true);
  });

  it('only kubelet hosts get them; containerd reads the folder (config_path)', async () => {
    const registries = await loadRegistryInputs(model.registries, ENV);
    const etcdModel = modelFrom(`${HOSTS}  - { name: e1, address: 127.0.12.21, roles: [etcd] }\n`, REGISTRIES);
    const plan = buildClusterPlan(etcdModel, clusterFilesFor(etcdModel), binaryIndexFor(ALL_BINARIES), { registries });
    const paths = (name: string) => plan.hosts.find((h) => h.host.name === name)!.files.map((f) => f.path);
    for (const h of ['m1', 'n1']) expect(paths(h)).toContain('/etc/containerd/certs.d/docker.io/hosts.toml');
    expect(paths('e1').filter((p) => p.startsWith('/etc/containerd'))).toEqual([]);
    const config = plan.hosts.find((h) => h.host.name === 'n1')!.files.find((f) => f.path === '/etc/containerd/config.toml')!;
    expect((config.content as { data: Buffer }).data.toString()).toContain(
      '[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/containerd/certs.d"\n',
    );
  });

  it('credentials come from the environment only: an unset variable is an invalid input naming the field; a plan shows the file as pending', async () => {
    await expect(loadRegistryInputs(model.registries, { MIRROR_USER: 'puller' })).rejects.toMatchObject({
      exitCode: 2,
      message: 'cluster.registries[0].passwordEnv: the environment variable MIRROR_PASSWORD is not set (credentials for the mirrors of docker.io)',
    });
    const partial = await loadRegistryInputs(model.registries, {}, true);
    const plan = buildClusterPlan(model, clusterFilesFor(model), binaryIndexFor(ALL_BINARIES), { allowMissing: true, registries: partial });
    expect(plan.hosts.find((h) => h.host.name === 'n1')!.pending).toContainEqual({
      path: '/etc/containerd/certs.d/docker.io/hosts.toml',
      mode: 0o600,
      from: 'environment MIRROR_USER, MIRROR_PASSWORD',
      awaiting: 'environment',
    });
    expect(() => buildClusterPlan(model, clusterFilesFor(model), binaryIndexFor(ALL_BINARIES), { registries: NO_REGISTRY_INPUTS })).toThrow(
      /environment MIRROR_USER, MIRROR_PASSWORD \(for \/etc\/containerd\/certs\.d\/docker\.io\/hosts\.toml\)/,
    );
    // commands that upload nothing (etcd backup, remove) plan without them
    const lenient = buildClusterPlan(model, clusterFilesFor(model), binaryIndexFor(ALL_BINARIES), { registries: partial, allowMissingSecrets: true });
    expect(lenient.hosts.find((h) => h.host.name === 'n1')!.pending?.map((p) => p.awaiting)).toEqual(['environment']);
  });

  it('a CA file that is missing or holds no certificate names the field', async () => {
    const bad = modelFrom(HOSTS, REGISTRIES.replace(join(dir, 'ca.crt'), join(dir, 'nope.crt')));
    await expect(loadRegistryInputs(bad.registries, ENV)).rejects.toThrow(`cluster.registries[0].caFile: cannot read ${join(dir, 'nope.crt')}: ENOENT`);
    writeFileSync(join(dir, 'key.pem'), 'not a cert');
    const notPem = modelFrom(HOSTS, REGISTRIES.replace(join(dir, 'ca.crt'), join(dir, 'key.pem')));
    await expect(loadRegistryInputs(notPem.registries, ENV)).rejects.toThrow(`cluster.registries[0].caFile: ${join(dir, 'key.pem')} holds no PEM certificate`);
  });

  it('validation names the field: host and mirror formats, one registry per host, both credential variables', () => {
    const problems = (registries: string): string => {
      try {
        loadInventoryText(`cluster:\n  registries:\n${registries}ssh:\n  user: root\nhosts:\n${HOSTS}`, '/tmp/ki-reg/inventory.yaml');
        return '';
      } catch (err) {
        expect(err).toBeInstanceOf(InventoryError);
        return (err as InventoryError).message;
      }
    };
    expect(problems('    - { host: "https://docker.io", mirrors: ["https://m"] }\n')).toContain(
      'cluster.registries[0].host: error: "https://docker.io" is not a registry host',
    );
    expect(problems('    - { host: docker.io, mirrors: ["m.example:5000"] }\n')).toContain(
      'cluster.registries[0].mirrors[0]: error: "m.example:5000" is not a mirror endpoint',
    );
    expect(problems('    - { host: docker.io, mirrors: [] }\n')).toContain('cluster.registries[0].mirrors');
    expect(problems('    - { host: docker.io, mirrors: ["https://a"] }\n    - { host: docker.io, mirrors: ["https://b"] }\n')).toContain(
      'cluster.registries[1]',
    );
    expect(problems('    - { host: docker.io, mirrors: ["https://a"], usernameEnv: U }\n')).toContain(
      'cluster.registries[0].passwordEnv: error: docker.io: credentials need both usernameEnv and passwordEnv (passwordEnv is missing)',
    );
    expect(problems('    - { host: docker.io, mirrors: ["https://a"], password: x }\n')).toContain('cluster.registries[0].password');
  });
});
