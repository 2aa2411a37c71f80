// Three real etcd members (Debian's etcd on PATH) started from rendered configs, with certificates from
// the PKI module, on 127.0.4.1-3: they must form one healthy cluster over mutual TLS.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatePki } from '../../../src/pki/generate.js';
import { newClusterBootstrap, renderEtcdConfig } from '../../../src/render/etcd.js';
import { buildClusterPlan } from '../../../src/render/plan.js';
import { binaryIndexFor, modelFrom } from '../../../src/render/test-fixtures.js';
import { readClusterFiles } from '../../../src/render/load.js';
import { writePlanTree } from '../../../src/render/write.js';

const MEMBERS = ['127.0.4.1', '127.0.4.2', '127.0.4.3'];
const work = mkdtempSync(join(tmpdir(), 'kubeinstall-render-etcd-'));
const procs: ChildProcess[] = [];
const logs = new Map<string, string>();

const which = (tool: string): string => {
  const r = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${tool} is not on PATH (install etcd-server and etcd-client)`);
  return r.stdout.trim();
};

/** The rendered config with the host's absolute paths moved under this member's test root, and its metrics
 * listener (127.0.0.1:2381 on a real host) on the member's own address: here the three share one loopback. */
const underRoot = (root: string, address: string, config: string): string => {
  if (!config.includes('listen-metrics-urls: http://127.0.0.1:2381')) throw new Error(`etcd metrics are no longer rendered on 127.0.0.1:2381:\n${config}`);
  return config
    .replaceAll('/etc/kubernetes/', `${root}/etc/kubernetes/`)
    .replace('data-dir: /var/lib/etcd', `data-dir: ${root}/var/lib/etcd`)
    .replace('http://127.0.0.1:2381', `http://${address}:2381`);
};

const etcdctl = (root: string, ...args: string[]) =>
  spawnSync(
    which('etcdctl'),
    [
      `--endpoints=${MEMBERS.map((ip) => `https://${ip}:2379`).join(',')}`,
      `--cacert=${root}/etc/kubernetes/pki/etcd/ca.crt`,
      `--cert=${root}/etc/kubernetes/pki/etcd/healthcheck-client.crt`,
      `--key=${root}/etc/kubernetes/pki/etcd/healthcheck-client.key`,
      '--command-timeout=10s',
      ...args,
    ],
    { encoding: 'utf8', env: { ...process.env, ETCDCTL_API: '3' } },
  );

beforeAll(async () => {
  const etcd = which('etcd');
  const model = modelFrom(`${MEMBERS.map((ip, i) => `  - { name: e${i + 1}, address: ${ip}, roles: [etcd] }`).join('\n')}\n`);
  await generatePki(model, join(work, 'cluster'));
  const plan = buildClusterPlan(model, await readClusterFiles(join(work, 'cluster')), binaryIndexFor(['etcd', 'etcdctl']));
  await writePlanTree(plan, join(work, 'tree'));
  for (const h of plan.hosts) {
    const root = join(work, 'tree', 'hosts', h.host.name);
    const configPath = join(root, 'etc/etcd/etcd.conf.yml');
    // The planned config names the member alone (what a running member keeps); a new cluster's first start
    // uses the bootstrap variant deploy writes for it.
    const planned = readFileSync(configPath, 'utf8');
    const first = renderEtcdConfig(model, h.host, newClusterBootstrap(model));
    expect(first.replace(/^initial-cluster(-state)?: .*$/gm, '')).toBe(planned.replace(/^initial-cluster(-state)?: .*$/gm, ''));
    writeFileSync(configPath, underRoot(root, h.host.internalAddress, first));
    const child = spawn(etcd, [`--config-file=${configPath}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    logs.set(h.host.name, '');
    const keep = (chunk: Buffer) => logs.set(h.host.name, (logs.get(h.host.name)! + chunk.toString()).slice(-4000));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    procs.push(child);
  }
});

afterAll(() => {
  for (const p of procs) if (p.pid && p.exitCode === null) process.kill(p.pid, 'SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

describe('etcd from rendered configs', () => {
  it("forms a healthy three-member cluster over mutual TLS on the members' own addresses", async () => {
    const root = join(work, 'tree', 'hosts', 'e1');
    let health = etcdctl(root, 'endpoint', 'health');
    for (let i = 0; i < 60 && health.status !== 0; i++) {
      await new Promise((r) => setTimeout(r, 500));
      health = etcdctl(root, 'endpoint', 'health');
    }
    expect(health.status, `${health.stderr}\n${[...logs].map(([n, l]) => `--- ${n}\n${l}`).join('\n')}`).toBe(0);
    const members = etcdctl(root, 'member', 'list', '-w', 'json');
    expect(members.status, members.stderr).toBe(0);
    const list = (JSON.parse(members.stdout) as { members: { name: string; clientURLs: string[]; peerURLs: string[] }[] }).members;
    expect(list.map((m) => m.name).sort()).toEqual(['e1', 'e2', 'e3']);
    expect(list.flatMap((m) => m.peerURLs).sort()).toEqual(MEMBERS.map((ip) => `https://${ip}:2380`));
    expect(list.flatMap((m) => m.clientURLs).sort()).toEqual(MEMBERS.map((ip) => `https://${ip}:2379`));
    expect(etcdctl(root, 'put', 'kubeinstall', 'rendered').status).toBe(0);
  });
});
