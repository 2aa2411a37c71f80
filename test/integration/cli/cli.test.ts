// The built command as a user runs it: exit codes, messages, files (and never a stack trace: see ../kubeinstall.ts).
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { kubeinstall } from '../kubeinstall.js';

const dir = mkdtempSync(join(tmpdir(), 'kubeinstall-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (args: string[], env: Record<string, string> = {}) => kubeinstall(args, { NO_COLOR: '', ...env });

describe('kubeinstall CLI', () => {
  it('lists the four main commands in --help', () => {
    const r = run(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['init', 'certs', 'deploy', 'verify-certs']) expect(r.out).toMatch(new RegExp(`^  ${c}\\b`, 'm'));
  });

  it('prints its version', () => {
    const r = run(['--version']);
    expect(r.code).toBe(0);
    expect(r.out.trim()).toBe(JSON.parse(readFileSync(join(__dirname, '../../../package.json'), 'utf8')).version);
  });

  it('exits 2 on bad usage', () => {
    expect(run(['init', 'inventory', '--masters', 'three']).code).toBe(2);
    expect(run(['no-such-command']).code).toBe(2);
  });

  it('writes a starter inventory that checks clean, and refuses to overwrite it without --force', () => {
    const file = join(dir, 'inventory.yaml');
    expect(run(['init', 'inventory', '-o', file, '--masters', '3', '--nodes', '2']).code).toBe(0);
    const check = run(['inventory', 'check', '-i', file, '-o', 'json']);
    expect(check.code).toBe(0);
    expect(JSON.parse(check.out).hosts).toHaveLength(5);
    const again = run(['init', 'inventory', '-o', file]);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/already exists; use --force/);
    expect(readFileSync(file, 'utf8')).toContain('master-3');
    expect(run(['init', 'inventory', '-o', file, '--force', '--masters', '1', '--nodes', '0']).code).toBe(0);
    expect(readFileSync(file, 'utf8')).not.toContain('master-3');
    expect(statSync(file).mode & 0o777).toBe(0o644);
  });

  it.each([1, 3, 250, 1000])('writes a starter with %i nodes that its own check passes, every address unique', (nodes) => {
    const file = join(dir, `nodes-${nodes}.yaml`);
    const init = run(['init', 'inventory', '-o', file, '--masters', '3', '--nodes', String(nodes)]);
    expect(init.code, init.err).toBe(0);
    const check = run(['inventory', 'check', '-i', file, '-o', 'json']);
    expect(check.code, check.err.slice(0, 2000)).toBe(0);
    const hosts = JSON.parse(check.out).hosts as { address: string }[];
    expect(hosts).toHaveLength(nodes + 3);
    expect(new Set(hosts.map((h) => h.address)).size).toBe(nodes + 3);
  });

  it('reads the inventory from KUBEINSTALL_INVENTORY', () => {
    const file = join(dir, 'from-env.yaml');
    run(['init', 'inventory', '-o', file]);
    expect(run(['inventory', 'check'], { KUBEINSTALL_INVENTORY: file }).code).toBe(0);
  });

  it.each([
    ['empty', ''],
    ['binary', '\u0000\u0001\u00ff\u00fe'],
    ['a list', '- 1\n- 2\n'],
    ['broken YAML', 'cluster: [\n'],
    ['50 MB', 'x'.repeat(50 * 1024 * 1024)],
    ['nested', '['.repeat(100000)],
  ])('refuses %s input with exit 2, naming the file, without a stack trace', (_label, content) => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, content);
    const r = run(['inventory', 'check', '-i', file]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(file);
  });

  it('names every problem with file, field and line', () => {
    const file = join(dir, 'typos.yaml');
    writeFileSync(file, 'cluster:\n  podCidr: 10.96.0.0/16\nhosts:\n  - { name: m1, address: 10.0.0.1, rolse: [etcd] }\n');
    const r = run(['inventory', 'check', '-i', file]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${file}:4: hosts[0].rolse: error: unknown key "rolse" (did you mean "roles"?)`);
    expect(r.err).toContain(`${file}:4: hosts[0].roles: error: "roles" is required`);
  });

  it('warns in inventory check and deploy that a master endpoint with several masters makes every client depend on one', () => {
    const file = join(dir, 'one-endpoint.yaml');
    // Loopback addresses where nothing listens: deploy stops before connecting (no PKI), and would reach nothing if it did not.
    const hosts = 'hosts:\n  - { name: m1, address: 127.0.99.1, roles: [etcd, master] }\n  - { name: m2, address: 127.0.99.2, roles: [master] }\n';
    writeFileSync(file, `cluster:\n  apiEndpointKind: master\n  binariesDir: .\n${hosts}`);
    const warning =
      `${file}:2: cluster.apiEndpointKind: warning: apiEndpointKind master with 2 masters: ` +
      'every kubelet, kube-proxy and admin.conf reaches the API through one master (m1)';
    const check = run(['inventory', 'check', '-i', file]);
    expect([check.code, check.err]).toEqual([0, expect.stringContaining(warning)]);
    // deploy says so before anything else (here it then stops: no PKI yet).
    const deploy = run(['deploy', '-i', file, '--dry-run']);
    expect(deploy.err.indexOf(warning)).toBe(0);
    expect(deploy.code).not.toBe(0);
  });

  it("refuses a master's SSH address as the endpoint, naming the field and the master", () => {
    const file = join(dir, 'ssh-endpoint.yaml');
    writeFileSync(
      file,
      'cluster:\n  apiEndpoint: 127.0.99.1\nhosts:\n  - { name: m1, address: 127.0.99.1, internalAddress: 127.0.99.11, roles: [etcd, master] }\n',
    );
    const r = run(['inventory', 'check', '-i', file]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${file}:2: cluster.apiEndpoint: error: "127.0.99.1" is the SSH address of master m1, not its internalAddress 127.0.99.11`);
  });

  it('reports a missing inventory file clearly', () => {
    const r = run(['inventory', 'check', '-i', join(dir, 'nope.yaml')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/nope\.yaml: error: cannot read the inventory: no such file/);
  });

  it('masks every password in inventory check, as YAML and as JSON', () => {
    const file = join(dir, 'passwords.yaml');
    writeFileSync(
      file,
      [
        'ssh: { password: top-secret-1 }',
        'hosts:',
        '  - { name: m1, address: 127.0.8.1, roles: [etcd, master], ssh: { password: host-secret-2 } }',
        '  - { name: n1, address: 127.0.8.2, roles: [node], ssh: { bastion: { address: 127.0.8.3, password: bastion-secret-3 } } }',
        '',
      ].join('\n'),
    );
    for (const format of ['yaml', 'json']) {
      const r = run(['inventory', 'check', '-i', file, '-o', format]);
      expect(r.code, r.err).toBe(0);
      expect(r.out + r.err).not.toMatch(/top-secret-1|host-secret-2|bastion-secret-3/);
      expect(r.out).toContain('********');
    }
    const json = JSON.parse(run(['inventory', 'check', '-i', file, '-o', 'json']).out);
    expect(json.hosts[1].ssh.bastion.password).toBe('********');
  });

  it('colours errors only when colour is wanted', () => {
    const file = join(dir, 'colour.yaml');
    writeFileSync(file, '[]');
    expect(run(['inventory', 'check', '-i', file], { FORCE_COLOR: '1' }).err).toContain('\u001b[');
    expect(run(['inventory', 'check', '-i', file], { FORCE_COLOR: '1', NO_COLOR: '1' }).err).not.toContain('\u001b[');
    expect(run(['--no-color', 'inventory', 'check', '-i', file], { FORCE_COLOR: '1' }).err).not.toContain('\u001b[');
  });
});
