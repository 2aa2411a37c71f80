import { describe, expect, it } from 'vitest';
import type { Host } from '../../inventory/model.js';
import { RemoteCommandError } from '../../ssh/errors.js';
import type { UploadItem } from '../../ssh/types.js';
import { fakeExecutor } from './fake-executor.js';

const host = (name: string) => ({ name }) as Host;
const item: UploadItem = { path: '/etc/x', mode: 0o644, owner: 'root:root', sha256: 'a', size: 3, source: { kind: 'inline', data: Buffer.from('abc') } };

describe('fake executor', () => {
  it('answers by host and command pattern, the first rule that matches, and records calls in order', async () => {
    const fake = fakeExecutor({
      exec: [
        { host: 'a', command: /^echo/, reply: { stdout: 'from a' } },
        { command: /^echo/, reply: { stdout: 'any' } },
      ],
    });
    const [a, b] = await Promise.all([fake.exec(host('a'), 'echo 1', { step: 'one' }), fake.exec(host('b'), 'echo 2', { step: 'two', sudo: true })]);
    expect([a.stdout, b.stdout]).toEqual(['from a', 'any']);
    expect(fake.calls.map((c) => [c.host, c.seq, c.answered])).toEqual([
      ['a', 1, 3],
      ['b', 2, 4],
    ]);
    expect(fake.execs('b')[0]!.opts).toEqual({ step: 'two', sudo: true });
  });

  it('throws on a command or upload the script does not name, and keeps it in `unexpected`', async () => {
    const fake = fakeExecutor({ exec: [{ host: 'a', command: /^true$/, reply: {} }] });
    await expect(fake.exec(host('b'), 'true', { step: 'other host' })).rejects.toThrow(/unexpected command on b \[other host\]: true/);
    await expect(fake.upload(host('a'), [item], { step: 'up' })).rejects.toThrow(/unexpected upload to a \[up\]: \/etc\/x/);
    expect(fake.unexpected).toHaveLength(2);
    expect(fake.uploads().map((u) => u.paths)).toEqual([['/etc/x']]);
  });

  it('fails a non-zero exit as the real executor does, unless the caller accepts failure', async () => {
    const fake = fakeExecutor({ exec: [{ command: /^false$/, reply: { code: 1, stderr: 'no' } }], acceptUploads: true });
    await expect(fake.exec(host('a'), 'false', { step: 's' })).rejects.toBeInstanceOf(RemoteCommandError);
    expect((await fake.exec(host('a'), 'false', { step: 's', allowFailure: true })).code).toBe(1);
    expect(await fake.upload(host('a'), [item], { step: 'up' })).toEqual({ uploaded: ['/etc/x'], bytes: 3 });
  });
});
