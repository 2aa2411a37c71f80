import { describe, expect, it } from 'vitest';
import type { SshTarget } from '../inventory/model.js';
import { noSshConfig, parseJumpSpec, resolveHostTarget, resolveTarget, sshConfigLookup, sudoFor, targetKey } from './target.js';

const defaults: SshTarget = { user: 'root', port: 22, useAgent: true, hostKeyPolicy: 'strict', connectTimeoutSeconds: 10 };
const config = sshConfigLookup(
  [
    'Host web*',
    '  HostName 192.0.2.10',
    '  User admin',
    '  Port 2200',
    '  IdentityFile ~/.ssh/web_ed25519',
    '  ProxyJump ops@jump1:2022,jump2',
    'Host jump2',
    '  HostName 198.51.100.2',
    '  User hop',
  ].join('\n'),
);

describe('ssh target', () => {
  it('parses ProxyJump hops', () => {
    expect(parseJumpSpec('ops@jump1:2022')).toEqual({ user: 'ops', host: 'jump1', port: 2022 });
    expect(parseJumpSpec('[2001:db8::1]:22')).toEqual({ user: undefined, host: '2001:db8::1', port: 22 });
    expect(parseJumpSpec('bastion')).toEqual({ user: undefined, host: 'bastion', port: undefined });
  });

  it('fills what the inventory left at its defaults from ~/.ssh/config, including a ProxyJump chain', () => {
    const t = resolveTarget('web', 'web1', defaults, undefined, config, '/home/me');
    expect([t.hostname, t.port, t.user, t.identityFiles]).toEqual(['192.0.2.10', 2200, 'admin', ['/home/me/.ssh/web_ed25519']]);
    // the last hop is dialled through the ones before it
    expect([t.jump?.hostname, t.jump?.user, t.jump?.port]).toEqual(['198.51.100.2', 'hop', 22]);
    expect([t.jump?.jump?.hostname, t.jump?.jump?.user, t.jump?.jump?.port, t.jump?.jump?.jump]).toEqual(['jump1', 'ops', 2022, undefined]);
    expect(targetKey(t)).toBe('admin@192.0.2.10:2200 via hop@198.51.100.2:22 via ops@jump1:2022');
  });

  it('lets explicit inventory values and the inventory bastion win', () => {
    const own: SshTarget = { ...defaults, user: 'deploy', port: 2022, identityFile: '/keys/id' };
    const bastion = { ...defaults, user: 'jump', address: '203.0.113.1' };
    const t = resolveTarget('web', 'web1', own, bastion, config, '/home/me');
    expect([t.user, t.port, t.identityFiles, t.jump?.hostname, t.jump?.user]).toEqual(['deploy', 2022, ['/keys/id'], '203.0.113.1', 'jump']);
  });

  it('decides sudo from the real login user when ~/.ssh/config replaces the inventory one', () => {
    expect(sudoFor({ user: 'root', sudo: false }, 'admin')).toBe(true);
    expect(sudoFor({ user: 'root', sudo: false }, 'root')).toBe(false);
    expect(sudoFor({ user: 'ops', sudo: true }, 'root')).toBe(false);
    expect(sudoFor({ user: 'ops', sudo: false }, 'ops')).toBe(false); // the inventory's explicit choice for its own user
    const host = {
      name: 'web',
      address: 'web1',
      internalAddress: '192.0.2.10',
      roles: ['node'] as const,
      labels: {},
      taints: [],
      ssh: { ...defaults, sudo: false },
    };
    expect(resolveHostTarget(host, config, '/home/me')).toMatchObject({ user: 'admin', sudo: true });
  });

  it('dials the inventory address as is without a config', () => {
    const t = resolveTarget('n1', '10.0.0.1', defaults, undefined, noSshConfig);
    expect([t.hostname, t.port, t.user, t.identityFiles, t.jump, t.connectTimeoutMs]).toEqual(['10.0.0.1', 22, 'root', [], undefined, 10_000]);
  });
});
