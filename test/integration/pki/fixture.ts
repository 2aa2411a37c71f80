// A PKI generated once per test file and algorithm into a temp folder, and long-running servers
// (openssl s_server, etcd) that are always stopped by pid.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClusterModel, KeyAlgorithm } from '../../../src/inventory/model.js';
import { loadInventory } from '../../../src/inventory/load.js';
import { generatePki } from '../../../src/pki/generate.js';
import { expandPki, type PkiPlan } from '../../../src/pki/specs.js';

export const TEST_ALGORITHMS: readonly KeyAlgorithm[] = ['rsa-2048', 'ecdsa-p256'];

export interface TestPki {
  readonly dir: string;
  readonly model: ClusterModel;
  readonly plan: PkiPlan;
  readonly cleanup: () => Promise<void>;
}

/** Writes the inventory (hosts given as YAML lines) beside the cluster folder and generates the PKI. */
export const makePki = async (algorithm: KeyAlgorithm, cluster: string, hosts: readonly string[]): Promise<TestPki> => {
  const root = await mkdtemp(join(tmpdir(), 'kubeinstall-pki-it-'));
  const file = join(root, 'inventory.yaml');
  await writeFile(file, `cluster:\n  name: it\n  keyAlgorithm: ${algorithm}\n${cluster}\nhosts:\n${hosts.map((h) => `  - ${h}`).join('\n')}\n`);
  try {
    const { model } = await loadInventory(file);
    await generatePki(model, model.clusterDir);
    return { dir: model.clusterDir, model, plan: expandPki(model), cleanup: () => rm(root, { recursive: true, force: true }) };
  } catch (err) {
    await rm(root, { recursive: true, force: true });
    throw err;
  }
};

/** Resolves once something accepts TCP connections on host:port, or rejects after `timeoutMs`. */
export const waitForPort = async (host: string, port: number, timeoutMs = 15_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect({ host, port }, () => (socket.destroy(), resolve(true)));
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${host}:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

/** Servers started by a test file; `stopAll` kills each by its pid and waits for it to exit. */
export class Servers {
  private readonly children: ChildProcess[] = [];
  private readonly logs = new Map<ChildProcess, string[]>();

  start(cmd: string, args: readonly string[], cwd?: string): ChildProcess {
    const child = spawn(cmd, args, { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    const log: string[] = [];
    child.stdout!.on('data', (d: Buffer) => log.push(d.toString()));
    child.stderr!.on('data', (d: Buffer) => log.push(d.toString()));
    this.children.push(child);
    this.logs.set(child, log);
    return child;
  }

  /** Everything the servers have written to stdout and stderr so far. */
  output(): string {
    return [...this.logs.values()].map((log) => log.join('')).join('\n');
  }

  async stopAll(): Promise<void> {
    await Promise.all(
      this.children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null || c.pid === undefined) return resolve();
            c.once('exit', () => resolve());
            process.kill(c.pid, 'SIGKILL');
          }),
      ),
    );
  }
}
