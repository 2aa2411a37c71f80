// The built command as a user runs it (npm test builds dist/ first). Every run is also checked for
// what must never reach a terminal: private key material and stack traces.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect } from 'vitest';

export const KUBEINSTALL_BIN = join(__dirname, '../../bin/kubeinstall');

export interface CliResult {
  readonly code: number | null;
  readonly out: string;
  readonly err: string;
}

export const kubeinstall = (args: readonly string[], env: Record<string, string> = {}): CliResult => {
  const r = spawnSync(process.execPath, [KUBEINSTALL_BIN, ...args], {
    encoding: 'utf8',
    input: '', // no terminal: prompts must not wait
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ...env },
  });
  expect(r.stdout + r.stderr).not.toMatch(/PRIVATE KEY|^\s+at .+:\d+:\d+\)?$/m);
  return { code: r.status, out: r.stdout, err: r.stderr };
};
