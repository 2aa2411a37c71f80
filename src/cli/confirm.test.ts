import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { EXIT_FAILED, EXIT_USAGE, KubeinstallError } from '../util/errors.js';
import { confirmDestructive } from './confirm.js';

const terminal = (typed: string) => {
  const input = Object.assign(new PassThrough(), { isTTY: true });
  const output = new PassThrough();
  let shown = '';
  output.on('data', (d: Buffer) => void (shown += d.toString()));
  setImmediate(() => input.end(typed));
  return { input, output, shown: () => shown };
};

const base = { command: 'kubeinstall reset', consequences: ['stop kubelet.service on n1', 'remove 12 files from n1'] };

describe('confirmDestructive', () => {
  it('goes on with --yes without asking', async () => {
    await expect(confirmDestructive({ ...base, yes: true, input: Object.assign(new PassThrough(), { isTTY: false }) })).resolves.toBeUndefined();
  });

  it('refuses with exit 2 off a terminal without --yes, listing what it would do', async () => {
    const err = await confirmDestructive({ ...base, yes: false, input: Object.assign(new PassThrough(), { isTTY: false }) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeinstallError);
    expect((err as KubeinstallError).exitCode).toBe(EXIT_USAGE);
    expect((err as Error).message).toContain('stop kubelet.service on n1');
    expect((err as Error).message).toContain('--yes');
  });

  it('asks at a terminal: "yes" goes on, anything else stops with exit 1', async () => {
    const ok = terminal('yes\n');
    await confirmDestructive({ ...base, yes: false, input: ok.input, output: ok.output });
    expect(ok.shown()).toContain('remove 12 files from n1');
    const no = terminal('y\n');
    const err = await confirmDestructive({ ...base, yes: false, input: no.input, output: no.output }).catch((e: unknown) => e);
    expect((err as KubeinstallError).exitCode).toBe(EXIT_FAILED);
    expect((err as Error).message).toContain('nothing changed');
  });
});
