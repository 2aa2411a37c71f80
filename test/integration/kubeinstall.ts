// The built command as a user runs it (npm test builds dist/ first). Every run is also checked for
// what must never reach a terminal: private key material and stack traces.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { expect } from 'vitest';

export const KUBEINSTALL_BIN = join(__dirname, '../../bin/kubeinstall');

export interface CliResult {
  readonly code: number | null;
  readonly out: string;
  readonly err: string;
}

const cliEnv = (env: Record<string, string>): NodeJS.ProcessEnv => ({ ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ...env });
const checked = (r: CliResult): CliResult => {
  expect(r.out + r.err).not.toMatch(/PRIVATE KEY|^\s+at .+:\d+:\d+\)?$/m);
  return r;
};

export const kubeinstall = (args: readonly string[], env: Record<string, string> = {}): CliResult => {
  const r = spawnSync(process.execPath, [KUBEINSTALL_BIN, ...args], {
    encoding: 'utf8',
    input: '', // no terminal: prompts must not wait
    env: cliEnv(env),
  });
  return checked({ code: r.status, out: r.stdout, err: r.stderr });
};

/** The same, running in the background: for runs that overlap or get a signal. */
export const startKubeinstall = (
  args: readonly string[],
  env: Record<string, string> = {},
): { child: ChildProcess; done: Promise<CliResult & { signal: NodeJS.Signals | null }> } => {
  const child = spawn(process.execPath, [KUBEINSTALL_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: cliEnv(env) });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<CliResult & { signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      try {
        resolve({ ...checked({ code, out, err }), signal });
      } catch (failure) {
        reject(failure);
      }
    });
  });
  return { child, done };
};
