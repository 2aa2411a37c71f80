// `npm run bench:scale [-- --nodes 10,100,1000 --latency 20 --concurrency 10 --pki-nodes 5000 --masters 3]`
// The orchestration's own cost at scale, no test-bed host needed:
// 1. `deploy --dry-run` (every phase, as runDeploy runs them) against 3 masters + N simulated hosts: an
//    in-process fake executor that answers the connect, facts and file-compare commands as a fresh Debian
//    host does, each after `--latency` ms. The baseline is the latency-bound minimum of the same calls at
//    the same concurrency; the ratio shows what the orchestration adds, and the peak of calls in flight that
//    connections stay bounded.
// 2. The CLI's `certs` (first run, no-change re-run) and `plan` for 3 masters + `--pki-nodes` nodes (ECDSA),
//    each a child process timed by /usr/bin/time, beside baselines from the same run: bare key generation of
//    as many keys on all cores, and `cp -a` of the folder it made (what the file system charges for that many
//    files and folders). `plan` is also run under `ulimit -n 128`.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadInventoryText } from '../src/inventory/load.js';
import type { ClusterModel } from '../src/inventory/model.js';
import { COMPARE_COMMAND, compareStdout, factsStdout } from '../src/deploy/testing/cluster.js';
import { fakeExecutor, type Call } from '../src/deploy/testing/fake-executor.js';
import { WHO_COMMAND } from '../src/deploy/phases/connect.js';
import { runDeploy } from '../src/deploy/run.js';
import { PHASE_NAMES } from '../src/deploy/types.js';
import { generatePki } from '../src/pki/generate.js';
import { generateKey } from '../src/pki/keys.js';
import { expandPki } from '../src/pki/specs.js';
import { loadPlanInputs } from '../src/render/load.js';
import { buildClusterPlan } from '../src/render/plan.js';
import { buildStandins } from '../test/standins/build.js';
import { DEBIAN_BINARIES } from '../test/integration/deploy/fixtures.js';

const { values: args } = parseArgs({
  options: {
    nodes: { type: 'string', default: '10,100,1000' },
    latency: { type: 'string', default: '20' },
    concurrency: { type: 'string', default: '10' },
    'pki-nodes': { type: 'string', default: '5000' },
    masters: { type: 'string', default: '3' },
  },
});
const LATENCY_MS = Number(args.latency);
const CONCURRENCY = Number(args.concurrency);
const MASTERS = Number(args.masters);
const KUBERNETES_VERSION = '1.34.2';
const BIN = resolve(import.meta.dirname, '../bin/kubeinstall');
/** What the test bed ignores too: the stand-ins and Debian's builds carry other versions than the inventory's. */
// The simulated hosts answer as fresh hosts with Debian's binaries and no addresses, CNI plugins or images of their own
// (the bench measures the orchestration, not what these checks find).
const IGNORED_CHECKS = new Set(['etcd-version', 'containerd-version', 'node-commands', 'pod-network', 'cni-plugins', 'images']);

/** Addresses from 198.18.0.0/15 only (no traffic is sent: the hosts are simulated). */
const address = (i: number): string => `198.18.${Math.floor(i / 250)}.${(i % 250) + 2}`;
const inventoryText = (dir: string, nodes: number): string =>
  [
    'cluster:',
    '  name: scale',
    `  kubernetesVersion: "${KUBERNETES_VERSION}"`,
    '  keyAlgorithm: ecdsa-p256',
    `  clusterDir: ${dir}/cluster`,
    `  binariesDir: ${dir}/binaries`,
    // a /30 a kubelet host: 8,192 pod subnets, room for every size this bench runs, clear of the hosts' 198.18.x
    '  podCidr: 198.19.128.0/17',
    '  network: { nodeSubnetSize: 30 }',
    '  serviceCidr: 198.19.64.0/18',
    'ssh:',
    '  user: root',
    'hosts:',
    ...Array.from({ length: MASTERS }, (_, i) => `  - { name: master-${i + 1}, address: ${address(i)}, roles: [etcd, master] }`),
    ...Array.from({ length: nodes }, (_, i) => `  - { name: node-${i + 1}, address: ${address(MASTERS + i)}, roles: [node] }`),
  ].join('\n');

const scratch = async <T>(fn: (dir: string) => Promise<T>): Promise<T> => {
  const dir = await mkdtemp(join(tmpdir(), 'kubeinstall-scale-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
};

const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const mib = (bytes: number): string => `${Math.round(bytes / 2 ** 20)} MiB`;

/** The most calls in flight at once, from the fake's counters (a call is in flight from `seq` to `answered`). */
const peakInFlight = (calls: readonly Call[]): number => {
  const events = calls.flatMap((c) => [
    [c.seq, 1],
    [c.answered ?? Number.POSITIVE_INFINITY, -1],
  ]);
  events.sort((a, b) => a[0]! - b[0]!);
  let now = 0;
  let peak = 0;
  for (const [, d] of events) peak = Math.max(peak, (now += d!));
  return peak;
};

/** The least time the calls can take at the concurrency bound: per step, the busiest host or the total shared out. */
const latencyBound = (calls: readonly Call[]): number => {
  const bySteps = new Map<string, Map<string, number>>();
  for (const c of calls) {
    const step = c.kind === 'exec' ? c.opts.step : c.step;
    const hosts = bySteps.get(step) ?? new Map<string, number>();
    bySteps.set(step, hosts.set(c.host, (hosts.get(c.host) ?? 0) + 1));
  }
  return [...bySteps.values()].reduce((sum, hosts) => {
    const counts = [...hosts.values()];
    return sum + Math.max(Math.max(...counts), Math.ceil(counts.reduce((a, b) => a + b, 0) / CONCURRENCY)) * LATENCY_MS;
  }, 0);
};

const fillBinaries = async (dir: string): Promise<void> => {
  await mkdir(dir, { recursive: true });
  await Promise.all(Object.entries(DEBIAN_BINARIES).map(([name, path]) => symlink(path, join(dir, name))));
  await buildStandins(dir, KUBERNETES_VERSION);
};

/** A fresh Debian host as the deploy's commands see it: nothing of ours installed, no file in place. */
const simulatedHosts = (model: ClusterModel, plan: ReturnType<typeof buildClusterPlan>, clusterFiles: Parameters<typeof buildClusterPlan>[1]) => {
  const cluster = { model, plan, clusterFiles: new Map(clusterFiles) };
  const byName = new Map(plan.hosts.map((hp) => [hp.host.name, hp]));
  return fakeExecutor({
    latencyMs: LATENCY_MS,
    acceptUploads: true,
    exec: [
      { command: new RegExp(`^${WHO_COMMAND.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`), reply: { stdout: 'root root\n' } },
      {
        command: /\. \/etc\/os-release/,
        reply: (call) => ({ stdout: `${factsStdout(byName.get(call.host)!, { units: {} }, cluster)}\nmachine-id=${call.host}-machine-id\n` }),
      },
      { command: COMPARE_COMMAND, reply: { stdout: compareStdout([], []) } },
      // etcd: no data directory yet, and no member to list
      { command: /^test -d \/var\/lib\/etcd\/member$/, reply: { code: 1 } },
      { command: /etcdctl .* member list/, reply: { stdout: '' } },
    ],
  });
};

const dryRunAt = async (nodes: number): Promise<string> =>
  scratch(async (dir) => {
    const model = loadInventoryText(inventoryText(dir, nodes), join(dir, 'inventory.yaml')).model;
    await fillBinaries(model.binariesDir);
    await generatePki(model, model.clusterDir);
    const { clusterFiles, binaries } = await loadPlanInputs(model);
    const started = performance.now();
    const cpu = process.cpuUsage();
    const plan = buildClusterPlan(model, clusterFiles, binaries);
    const fake = simulatedHosts(model, plan, clusterFiles);
    // The task lines a user would see are written (their cost is the orchestration's), but not to this terminal.
    const write = process.stdout.write;
    let lines = 0;
    process.stdout.write = ((chunk: string | Uint8Array) => {
      lines += String(chunk).split('\n').length - 1;
      return true;
    }) as typeof process.stdout.write;
    try {
      await runDeploy({
        model,
        plan,
        clusterFiles,
        executor: fake,
        layout: 'lines',
        options: {
          dryRun: true,
          concurrency: CONCURRENCY,
          healthTimeoutMs: 60_000,
          ignorePreflight: IGNORED_CHECKS,
          phases: new Set(PHASE_NAMES),
          signal: new AbortController().signal,
        },
      });
    } finally {
      process.stdout.write = write;
    }
    if (fake.unexpected.length) throw new Error(`the simulated hosts were asked what they do not answer:\n${fake.unexpected.slice(0, 5).join('\n')}`);
    const wall = performance.now() - started;
    const used = process.cpuUsage(cpu);
    const bound = latencyBound(fake.calls);
    const hosts = MASTERS + nodes;
    return (
      `  ${String(hosts).padStart(5)} hosts ${String(fake.calls.length).padStart(6)} calls  ${s(wall).padStart(9)} wall ` +
      `${s((used.user + used.system) / 1000).padStart(9)} CPU` +
      `  latency-bound ${s(bound).padStart(9)}  ${(wall / bound).toFixed(2)}x  ` +
      `${((wall - bound) / hosts).toFixed(1)} ms/host over it  peak ${peakInFlight(fake.calls)} calls in flight  ` +
      `${lines} task lines  RSS ${mib(process.memoryUsage().rss)}`
    );
  });

interface Timed {
  readonly wall: number;
  readonly cpu: number;
  readonly maxRssKb: number;
  readonly stdout: string;
}

/** A command under /usr/bin/time: wall and CPU seconds, peak RSS. */
const timed = (shell: string): Timed => {
  const r = spawnSync('/usr/bin/time', ['-f', 'TIME %e %U %S %M', 'sh', '-c', shell], { encoding: 'utf8', maxBuffer: 1 << 30 });
  const m = /TIME (\S+) (\S+) (\S+) (\d+)\s*$/.exec(r.stderr);
  if (r.status !== 0 || !m) throw new Error(`${shell} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  return { wall: Number(m[1]) * 1000, cpu: (Number(m[2]) + Number(m[3])) * 1000, maxRssKb: Number(m[4]), stdout: r.stdout };
};

const row = (label: string, t: Timed, note = ''): string =>
  `  ${label.padEnd(46)}${s(t.wall).padStart(9)} wall ${s(t.cpu).padStart(9)} CPU ${mib(t.maxRssKb * 1024).padStart(9)} RSS  ${note}`;

const pkiTable = async (nodes: number): Promise<void> =>
  scratch(async (dir) => {
    const inventory = join(dir, 'inventory.yaml');
    await writeFile(inventory, inventoryText(dir, nodes));
    const model = loadInventoryText(inventoryText(dir, nodes), inventory).model;
    const keys = expandPki(model).certs.length + 1;
    console.log(`\n${MASTERS} masters + ${nodes} nodes, ecdsa-p256, ${keys} keys: the CLI, each run a child process`);
    const keygenStart = performance.now();
    const cpu = process.cpuUsage();
    await Promise.all(Array.from({ length: keys }, () => generateKey('ecdsa-p256')));
    const used = process.cpuUsage(cpu);
    const keygen = { wall: performance.now() - keygenStart, cpu: (used.user + used.system) / 1000, maxRssKb: 0, stdout: '' };
    console.log(row('bare native keygen, all cores (baseline)', keygen));
    const cli = (what: string): string => `${process.execPath} ${BIN} ${what} -i ${inventory}`;
    const first = timed(`${cli('certs')} >/dev/null`);
    const cluster = join(dir, 'cluster');
    const files = Number(execFileSync('sh', ['-c', `find ${cluster}/pki ${cluster}/kubeconfigs | wc -l`], { encoding: 'utf8' }));
    const copy = timed(`mkdir ${dir}/copy && cp -a ${cluster}/pki ${cluster}/kubeconfigs ${dir}/copy`);
    console.log(row(`cp -a of the ${files} files and folders (baseline)`, copy));
    console.log(
      row('kubeinstall certs', first, `${(first.wall / copy.wall).toFixed(2)}x cp -a, ${(first.wall / (copy.wall + keygen.wall)).toFixed(2)}x cp -a + keygen`),
    );
    const rerun = timed(`${cli('certs')} >/dev/null`);
    console.log(row('kubeinstall certs, re-run, nothing changed', rerun));
    const plan = timed(`${cli('plan')} >/dev/null 2>&1`);
    console.log(row('kubeinstall plan', plan));
    const limited = timed(`ulimit -n 128 && ${cli('plan')} >/dev/null 2>&1`);
    console.log(row('kubeinstall plan, ulimit -n 128', limited));
  });

console.log(
  `deploy --dry-run, every phase, against ${MASTERS} masters + N simulated fresh hosts: ${LATENCY_MS} ms a command, concurrency ${CONCURRENCY} ` +
    `(load ${execFileSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).split(' ')[0]})`,
);
for (const n of args.nodes.split(',').map(Number)) console.log(await dryRunAt(n));
for (const n of args['pki-nodes'].split(',').filter(Boolean).map(Number)) await pkiTable(n);
