import { describe, expect, it } from 'vitest';
import { ConnectError, RemoteCommandError } from './errors.js';

describe('ssh errors', () => {
  it('keep the cause apart from the host, so context is added to the reason and not by editing the message', () => {
    expect(new ConnectError('m1', 'connection to 127.0.0.1:22 refused', true)).toMatchObject({ host: 'm1', reason: 'connection to 127.0.0.1:22 refused' });
    const failed = new RemoteCommandError('m1', 'start etcd', 'systemctl start etcd', 1, 'boom');
    expect(failed.message).toBe(`m1: ${failed.reason}`);
  });
});
