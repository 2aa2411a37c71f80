// Every file operation of certs, verify-certs and plan is bounded: under `ulimit -n 128`, a cluster of
// 3 masters + 1,000 nodes (about 5,000 files in 2,000 folders) is made, checked and planned. Before the
// bound, plan and a re-run of certs read the whole folder at once: both failed with EMFILE. (128, not 64:
// Node's module loader opens the CLI's modules all at once at startup, which alone needs about 90.)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KUBEINSTALL_BIN } from '../kubeinstall.js';

const NODES = 1000;
const root = mkdtempSync(join(tmpdir(), 'kubeinstall-bounded-io-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const inventory = join(root, 'inventory.yaml');
const address = (i: number): string => `127.0.${5 + Math.floor(i / 250)}.${(i % 250) + 1}`;
writeFileSync(
  inventory,
  [
    'cluster:',
    '  name: wide',
    '  keyAlgorithm: ecdsa-p256',
    // a /26 a kubelet host: 1,024 pod subnets in the test range
    '  serviceCidr: 198.18.255.0/24',
    '  podCidr: 198.19.0.0/16',
    '  network: { nodeSubnetSize: 26 }',
    'hosts:',
    ...[0, 1, 2].map((i) => `  - { name: m${i + 1}, address: ${address(i)}, roles: [etcd, master] }`),
    ...Array.from({ length: NODES }, (_, i) => `  - { name: n${i + 1}, address: ${address(3 + i)}, roles: [node] }`),
    '',
  ].join('\n'),
);

/** The built command in a shell whose open-file limit is 128. */
const limited = (...args: string[]): { code: number | null; out: string; err: string } => {
  const r = spawnSync('sh', ['-c', `ulimit -n 128 && exec "$0" "$@"`, process.execPath, KUBEINSTALL_BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
    maxBuffer: 1 << 28,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

describe('with `ulimit -n 128`, for 3 masters + 1,000 nodes', () => {
  it('certs makes the PKI and a re-run keeps it, verify-certs checks it and plan lists every host', () => {
    const first = limited('certs', '-i', inventory);
    expect(first.code, first.err).toBe(0);
    expect(first.out).toMatch(/^2029 created, 0 kept, 0 re-issued; 5056 files written/m);
    const again = limited('certs', '-i', inventory);
    expect(again.code, again.err).toBe(0);
    expect(again.out).toMatch(/^0 created, 2029 kept, 0 re-issued; 0 files written/m);
    const verify = limited('verify-certs', '-i', inventory, '-o', 'json');
    expect(verify.code, verify.err).toBe(0);
    expect((JSON.parse(verify.out) as { status: string }[]).filter((r) => r.status !== 'ok')).toEqual([]);
    const plan = limited('plan', '-i', inventory, '-o', 'json');
    expect(plan.code, plan.err).toBe(0);
    const hosts = (JSON.parse(plan.out) as { hosts: { name: string; pending: { from: string }[] }[] }).hosts;
    expect(hosts).toHaveLength(3 + NODES);
    // every PKI file is there (only the binaries, never fetched here, are pending)
    expect(hosts.flatMap((h) => h.pending).filter((p) => !p.from.startsWith('binary '))).toEqual([]);
  }, 180_000);
});
