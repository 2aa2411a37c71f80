import { describe, expect, it } from 'vitest';
import { backoffDelays, hostKeyAlgorithms } from './connection.js';
import { AuthError, classifyConnectError, ConnectError, RemoteCommandError, tail } from './errors.js';
import { createSemaphore } from '../util/semaphore.js';
import { quote } from '../util/shell.js';
import { sudoHint, wrapForSudo } from './sudo.js';

describe('sudo', () => {
  it('keeps the password out of the command and feeds it on stdin before the command input', () => {
    const w = wrapForSudo({ kind: 'password', password: 'pw' }, "echo 'hi'", 'input');
    expect(w.command).toBe(`sudo -k -S -p '' -- sh -c 'echo '\\''hi'\\'''`);
    expect(w.command).not.toContain('pw');
    expect(w.stdin?.toString()).toBe('pw\ninput');
    expect(wrapForSudo({ kind: 'passwordless' }, 'id', undefined).command).toBe('sudo -n -- sh -c id');
    expect(wrapForSudo({ kind: 'none' }, 'id', 'x')).toEqual({ command: 'id', stdin: 'x' });
  });

  it('explains sudo failures', () => {
    expect(sudoHint('sudo: a password is required')).toContain('ssh.sudoPasswordEnv');
    expect(sudoHint('sudo: a terminal is required to read the password')).toContain('ssh.sudoPasswordEnv');
    expect(sudoHint('Sorry, try again.\nsudo: 1 incorrect password attempt')).toContain('refused the password');
    expect(sudoHint('ops is not in the sudoers file.')).toContain('may not use sudo');
    expect(sudoHint('cp: cannot stat')).toBeUndefined();
  });
});

describe('connections', () => {
  it('backs off exponentially between attempts', () => {
    expect(backoffDelays({ attempts: 4, baseDelayMs: 500 })).toEqual([500, 1000, 2000]);
    expect(backoffDelays({ attempts: 1, baseDelayMs: 500 })).toEqual([]);
  });

  it('asks only for the host key types already recorded (RSA signed with SHA-2), any type when none is', () => {
    expect(hostKeyAlgorithms(['ssh-rsa'])).toEqual(['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
    expect(hostKeyAlgorithms(['ecdsa-sha2-nistp256', 'ssh-ed25519'])).toEqual(['ssh-ed25519', 'ecdsa-sha2-nistp256']);
    expect(hostKeyAlgorithms([])[0]).toBe('ssh-ed25519');
    expect(hostKeyAlgorithms(['ssh-dss'])).toHaveLength(7); // nothing ssh2 speaks: any type, judged changed
  });

  it('retries network failures, never authentication failures', () => {
    const refused = classifyConnectError('n1', '10.0.0.1:22', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    expect(refused).toBeInstanceOf(ConnectError);
    expect((refused as ConnectError).retryable).toBe(true);
    expect(refused.message).toBe('n1: connection to 10.0.0.1:22 refused: is sshd running and listening there?');
    const auth = classifyConnectError(
      'n1',
      '10.0.0.1:22',
      Object.assign(new Error('All configured authentication methods failed'), { level: 'client-authentication' }),
    );
    expect(auth).toBeInstanceOf(AuthError);
    expect((classifyConnectError('n1', 'x:22', Object.assign(new Error('getaddrinfo'), { code: 'ENOTFOUND' })) as ConnectError).retryable).toBe(false);
  });

  it('formats remote failures with host, step, command, exit code and stderr tail', () => {
    const e = new RemoteCommandError('n1', 'start etcd', 'systemctl start etcd', 1, tail(Array.from({ length: 30 }, (_, i) => `line ${i}`).join('\n')));
    expect(e.message.split('\n')[0]).toBe('n1: start etcd failed (exit 1): systemctl start etcd');
    expect(e.message.split('\n').slice(1)).toEqual(Array.from({ length: 15 }, (_, i) => `  | line ${i + 15}`));
  });
});

describe('helpers', () => {
  it('quotes for the shell only when needed', () => {
    expect(quote('/usr/local/bin/etcd')).toBe('/usr/local/bin/etcd');
    expect(quote("it's here")).toBe(`'it'\\''s here'`);
  });

  it('runs at most `limit` tasks at once', async () => {
    const s = createSemaphore(2);
    let active = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 6 }, () =>
        s.run(async () => {
          peak = Math.max(peak, ++active);
          await new Promise((r) => setTimeout(r, 5));
          active--;
        }),
      ),
    );
    expect(peak).toBe(2);
    expect(() => createSemaphore(0)).toThrow('at least 1');
  });
});
