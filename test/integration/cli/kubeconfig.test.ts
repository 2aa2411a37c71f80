// `kubeinstall kubeconfig`: the admin kubeconfig printed, or merged into a kubeconfig the user already
// has, each read back by the real kubectl. No host is contacted.
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeinstall } from '../kubeinstall.js';

const root = mkdtempSync(join(tmpdir(), 'kubeinstall-kubeconfig-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** An inventory for cluster `name` in its own folder, with its PKI and kubeconfigs written by `certs`. */
const cluster = (folder: string, name: string): string => {
  mkdirSync(join(root, folder));
  const inventory = join(root, folder, 'inventory.yaml');
  writeFileSync(
    inventory,
    `cluster: { name: ${name}, keyAlgorithm: ecdsa-p256 }\nhosts:\n  - { name: m1, address: 127.0.8.61, roles: [etcd, master, node] }\n`,
  );
  const certs = kubeinstall(['certs', '-i', inventory]);
  expect(certs.code, certs.err).toBe(0);
  return inventory;
};

const kubectl = (file: string, ...args: string[]): string => execFileSync('kubectl', ['--kubeconfig', file, ...args], { encoding: 'utf8' });
interface View {
  'current-context': string;
  clusters: { name: string; cluster: Record<string, unknown> }[];
  users: { name: string; user: Record<string, unknown> }[];
  contexts: { name: string; context: Record<string, unknown> }[];
  preferences: unknown;
}
/** The file as kubectl understands it: what "the same meaning" is measured with. */
const view = (file: string): View => JSON.parse(kubectl(file, 'config', 'view', '--raw', '-o', 'json'));
const without = (v: View, names: readonly string[]) => ({
  current: v['current-context'],
  preferences: v.preferences,
  clusters: v.clusters.filter((e) => !names.includes(e.name)),
  users: v.users.filter((e) => !names.includes(e.name)),
  contexts: v.contexts.filter((e) => !names.includes(e.name)),
});
const backups = (file: string): string[] => readdirSync(join(file, '..')).filter((f) => f.startsWith(`${file.split('/').at(-1)}.kubeinstall-`));

/** A kubeconfig with two other clusters, an exec user, a token user, extensions and preferences. */
const FOREIGN = `apiVersion: v1
kind: Config
preferences:
  colors: true
clusters:
- name: staging
  cluster:
    server: https://staging.example.com:6443
    insecure-skip-tls-verify: true
    proxy-url: http://127.0.0.1:3128
- name: kind-dev
  cluster:
    server: https://127.0.0.1:40000
    certificate-authority-data: ${Buffer.from('not a real CA').toString('base64')}
    extensions:
    - name: client.authentication.k8s.io/exec
      extension:
        audience: dev
users:
- name: alice
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: get-token
      args: ["--cluster", "staging", "2024-01-01"]
      interactiveMode: Never
- name: kubernetes-admin
  user:
    token: "0123456789"
contexts:
- name: staging
  context:
    cluster: staging
    user: alice
    namespace: team-a
- name: kind-dev
  context:
    cluster: kind-dev
    user: kubernetes-admin
current-context: staging
`;

describe('kubeinstall kubeconfig', () => {
  let inventory: string;
  let impostor: string;
  beforeAll(() => {
    inventory = cluster('prod', 'prod');
    impostor = cluster('impostor', 'prod'); // the same cluster name, another CA
  });

  it('prints the admin kubeconfig with a context named after the cluster, which kubectl reads', () => {
    const r = kubeinstall(['kubeconfig', '-i', inventory]);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toBe('');
    const file = join(root, 'printed.conf');
    writeFileSync(file, r.out);
    expect(kubectl(file, 'config', 'current-context').trim()).toBe('prod');
    const v = view(file);
    expect(v.clusters).toEqual([{ name: 'prod', cluster: expect.objectContaining({ server: 'https://127.0.8.61:6443' }) }]);
    expect(v.users.map((u) => u.name)).toEqual(['kubernetes-admin@prod']);
    expect(Object.keys(v.users[0]!.user).sort()).toEqual(['client-certificate-data', 'client-key-data']);
    const admin = readFileSync(join(root, 'prod/prod/kubeconfigs/admin.conf'), 'utf8');
    expect(r.out).toContain(admin.match(/client-key-data: (\S+)/)![1]);
  });

  it('overrides the server, and takes super-admin only when asked, with a warning', () => {
    const r = kubeinstall(['kubeconfig', '-i', inventory, '--server', 'https://127.0.0.1:16443', '--user', 'super-admin']);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/warning: super-admin .* bypasses RBAC/);
    expect(r.out).toContain('server: https://127.0.0.1:16443');
    expect(r.out).toContain('kubernetes-super-admin@prod');
    for (const bad of [
      ['--user', 'kube-proxy'],
      ['--server', 'http://127.0.0.1:6443'],
      ['--server', 'nonsense'],
    ]) {
      const b = kubeinstall(['kubeconfig', '-i', inventory, ...bad]);
      expect(b.code, bad.join(' ')).toBe(2);
      expect(b.err).toContain(`option '${bad[0]} `);
    }
  });

  it('merges into a file with other entries, keeping them, with a backup, 0600; a second merge replaces only ours', () => {
    const file = join(root, 'merge', 'config');
    mkdirSync(join(root, 'merge'));
    writeFileSync(file, FOREIGN, { mode: 0o644 });
    const before = view(file);

    const first = kubeinstall(['kubeconfig', '-i', inventory, '--merge', file]);
    expect(first.code, first.err).toBe(0);
    expect(first.out).toContain(`added context "prod" in ${file}`);
    expect(first.out).not.toContain('client-key-data');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(backups(file)).toHaveLength(1);
    const backup = join(root, 'merge', backups(file)[0]!);
    expect(readFileSync(backup, 'utf8')).toBe(FOREIGN);
    expect(statSync(backup).mode & 0o777).toBe(0o600);
    const ours = ['prod', 'kubernetes-admin@prod'];
    const merged = view(file);
    expect(without(merged, ours)).toEqual(without(before, []));
    expect(merged['current-context']).toBe('staging'); // the user's choice stays
    expect(kubectl(file, 'config', 'get-contexts', '-o', 'name').trim().split('\n').sort()).toEqual(['kind-dev', 'prod', 'staging']);
    kubectl(file, 'config', 'use-context', 'prod');
    expect(kubectl(file, 'config', 'view', '--minify', '-o', 'jsonpath={.clusters[0].cluster.server}')).toBe('https://127.0.8.61:6443');

    const second = kubeinstall(['kubeconfig', '-i', inventory, '--merge', file, '--server', 'https://127.0.0.1:16443']);
    expect(second.code, second.err).toBe(0);
    expect(second.out).toContain('updated context "prod"');
    const again = view(file);
    expect(without(again, ours)).toEqual({ ...without(before, []), current: 'prod' });
    expect(again.clusters.map((c) => c.name).sort()).toEqual(['kind-dev', 'prod', 'staging']); // one of each: replaced, not added
    expect(again.clusters.find((c) => c.name === 'prod')!.cluster.server).toBe('https://127.0.0.1:16443');
    expect(backups(file)).toHaveLength(2);
  });

  it('refuses an entry of the same name from another cluster unless --force or another --context', () => {
    const file = join(root, 'clash.conf');
    writeFileSync(file, kubeinstall(['kubeconfig', '-i', impostor]).out);
    const original = readFileSync(file, 'utf8');
    const refused = kubeinstall(['kubeconfig', '-i', inventory, '--merge', file]);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain(
      `${file} already has a cluster "prod", a user "kubernetes-admin@prod" not belonging to this cluster; choose another name with --context NAME, or replace them with --force`,
    );
    expect(readFileSync(file, 'utf8')).toBe(original);
    expect(backups(file)).toHaveLength(0);

    const renamed = kubeinstall(['kubeconfig', '-i', inventory, '--merge', file, '--context', 'prod-2']);
    expect(renamed.code, renamed.err).toBe(0);
    expect(kubectl(file, 'config', 'get-contexts', '-o', 'name').trim().split('\n').sort()).toEqual(['prod', 'prod-2']);

    const forced = kubeinstall(['kubeconfig', '-i', inventory, '--merge', file, '--force']);
    expect(forced.code, forced.err).toBe(0);
    const ca = (inv: string) => readFileSync(join(inv, '..', 'prod', 'pki', 'ca.crt'), 'utf8');
    const prod = view(file).clusters.find((c) => c.name === 'prod')!;
    expect(Buffer.from(prod.cluster['certificate-authority-data'] as string, 'base64').toString()).toBe(ca(inventory));
    expect(ca(inventory)).not.toBe(ca(impostor));
  });

  it('merges into ~/.kube/config by default, creating it', () => {
    const home = join(root, 'home');
    mkdirSync(home);
    const r = kubeinstall(['kubeconfig', '-i', inventory, '--merge'], { HOME: home });
    expect(r.code, r.err).toBe(0);
    const file = join(home, '.kube', 'config');
    expect(r.out).toContain('use it: kubectl config use-context prod\n');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(home, '.kube')).mode & 0o777).toBe(0o700);
    expect(kubectl(file, 'config', 'current-context').trim()).toBe('prod');
    expect(existsSync(`${file}.bak`)).toBe(false);
    expect(backups(file)).toHaveLength(0);
  });

  it('writes through a symlinked kubeconfig (dotfiles), leaving the link in place', () => {
    const home = join(root, 'linked');
    mkdirSync(join(home, 'dotfiles'), { recursive: true });
    mkdirSync(join(home, '.kube'));
    writeFileSync(join(home, 'dotfiles', 'kubeconfig'), FOREIGN);
    symlinkSync(join(home, 'dotfiles', 'kubeconfig'), join(home, '.kube', 'config'));
    const r = kubeinstall(['kubeconfig', '-i', inventory, '--merge'], { HOME: home });
    expect(r.code, r.err).toBe(0);
    expect(lstatSync(join(home, '.kube', 'config')).isSymbolicLink()).toBe(true);
    expect(
      kubectl(join(home, '.kube', 'config'), 'config', 'get-contexts', '-o', 'name')
        .trim()
        .split('\n')
        .sort(),
    ).toEqual(['kind-dev', 'prod', 'staging']);
    expect(backups(join(home, 'dotfiles', 'kubeconfig'))).toHaveLength(1);
  });

  it('says which file is missing when certs has not run', () => {
    mkdirSync(join(root, 'empty'));
    const inv = join(root, 'empty', 'inventory.yaml');
    writeFileSync(inv, 'cluster: { name: empty }\nhosts:\n  - { name: m1, address: 127.0.8.61, roles: [etcd, master] }\n');
    const r = kubeinstall(['kubeconfig', '-i', inv]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${join(root, 'empty', 'empty', 'kubeconfigs', 'admin.conf')} is missing: create it with \`kubeinstall certs\``);
  });
});
