// `npm run bench:deploy [-- --masters M --nodes N]` (default 3 + 2, at most 20 hosts): a first deploy and a
// no-change re-run of M masters (+etcd) and N nodes on test-bed hosts 198.18.31.40-59 (each with its own
// network; real etcd, containerd and systemd; stand-ins for the Kubernetes components), run as a user runs
// it: the built CLI (`npx tsc -p tsconfig.json` first) with `-o json`, whose phase timings make the
// per-phase table, under /usr/bin/time for the CLI's peak memory (RSS). Against a baseline measured in the
// same run: scp of the same per-host files to the hosts in parallel, plus the time the services themselves
// take to start and become healthy (the etcd, control-plane and nodes phases). The re-run is timed as the
// median of a few.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadInventory } from '../src/inventory/load.js';
import { indexBinaries, readClusterFiles } from '../src/render/load.js';
import { buildClusterPlan } from '../src/render/plan.js';
import { writePlanTree } from '../src/render/write.js';
import { startSetting, TESTBED_IGNORED_CHECKS, type BedHost } from '../test/integration/deploy/fixtures.js';

const START_PHASES = ['etcd', 'control-plane', 'nodes'];
const RERUNS = 3;
const MAX_HOSTS = 20;
const CLI = join(import.meta.dirname, '..', 'bin', 'kubeinstall');

const count = (args: readonly string[], flag: string, fallback: number): number => {
  const at = args.indexOf(flag);
  const n = at < 0 ? fallback : Number(args[at + 1]);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} takes a whole number of at least 1`);
  return n;
};

const bedHosts = (masters: number, nodes: number): BedHost[] => {
  if (masters + nodes > MAX_HOSTS) throw new Error(`at most ${MAX_HOSTS} hosts (addresses 198.18.31.40-59)`);
  return [
    ...Array.from({ length: masters }, (_, i) => ({ name: `bm${i + 1}`, address: `198.18.31.${40 + i}`, roles: ['etcd', 'master'] as const })),
    ...Array.from({ length: nodes }, (_, i) => ({ name: `bn${i + 1}`, address: `198.18.31.${40 + masters + i}`, roles: ['node'] as const })),
  ].map((h) => ({ ...h, roles: [...h.roles] }));
};

const sh = (cmd: string, args: readonly string[]): Promise<string> =>
  new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (err += d));
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} failed (${code}): ${err.slice(-2000)}`))));
  });

interface CliRun {
  readonly ms: number;
  readonly maxRssMiB: number;
  readonly phases: Readonly<Record<string, number>>;
  readonly changed: number;
  readonly logPath: string;
}

/** One `kubeinstall deploy -o json`, as a user runs it, with its wall time and peak RSS. */
const deployCli = async (inventory: string, rssFile: string): Promise<CliRun> => {
  const started = Date.now();
  const args = ['-f', '%M', '-o', rssFile, CLI, 'deploy', '-i', inventory, '-o', 'json', '--ignore-preflight-errors', [...TESTBED_IGNORED_CHECKS].join(',')];
  const report = JSON.parse(await sh('/usr/bin/time', args));
  const ms = Date.now() - started;
  return {
    ms,
    maxRssMiB: Number((await readFile(rssFile, 'utf8')).trim().split('\n').at(-1)) / 1024,
    phases: report.phaseDurationsMs,
    changed: report.filesUploaded + report.servicesRestarted,
    logPath: report.commandLog,
  };
};

const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

/** Remote time by step, from the deploy's command log: where a re-run's seconds go. */
const remoteTimeByStep = async (logPath: string): Promise<string> => {
  const byStep = new Map<string, { n: number; ms: number }>();
  for (const m of (await readFile(logPath, 'utf8')).matchAll(/^\S+ \S+ \[([^\]]+)\] exit=-?\d+ (\d+)ms/gm)) {
    const seen = byStep.get(m[1]!) ?? { n: 0, ms: 0 };
    byStep.set(m[1]!, { n: seen.n + 1, ms: seen.ms + Number(m[2]) });
  }
  return [...byStep].map(([step, { n, ms }]) => `${step} ${n}x avg ${Math.round(ms / n)} ms`).join(', ');
};

const main = async (): Promise<void> => {
  const args = process.argv.slice(2);
  const hosts = bedHosts(count(args, '--masters', 3), count(args, '--nodes', 2));
  const masters = hosts.filter((h) => h.roles.includes('master')).length;
  const s = await startSetting({ name: 'bench-dep', subnet: '198.18.31.0/24' }, hosts);
  try {
    // The baseline copies exactly the files deploy would: each host's planned tree.
    const { model } = await loadInventory(s.inventory);
    const plan = buildClusterPlan(
      model,
      await readClusterFiles(model.clusterDir),
      await indexBinaries(model.binariesDir, model.hosts, undefined, false, model.network),
    );
    const tree = join(s.dir, 'plan');
    await writePlanTree(plan, tree);
    const knownHosts = join(s.clusterDir, 'known_hosts');
    const sshOpts = ['-i', s.tb.privateKeyPath, '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes'];
    const scpStart = Date.now();
    await Promise.all(hosts.map((h) => sh('scp', ['-q', '-r', ...sshOpts, join(tree, 'hosts', h.name), `root@${h.address}:/var/tmp/bench-scp`])));
    const scpMs = Date.now() - scpStart;

    const rssFile = join(s.dir, 'rss');
    const first = await deployCli(s.inventory, rssFile);
    const startMs = START_PHASES.reduce((sum, p) => sum + (first.phases[p] ?? 0), 0);
    // The median of a few re-runs: one re-run is short enough for a neighbour's burst to skew it.
    const reruns: CliRun[] = [];
    for (let i = 0; i < RERUNS; i++) {
      const again = await deployCli(s.inventory, rssFile);
      if (again.changed) throw new Error('the re-run changed something: the timings compare different work');
      reruns.push(again);
    }
    const again = [...reruns].sort((a, b) => a.ms - b.ms)[Math.floor(RERUNS / 2)]!;

    const files = plan.hosts.reduce((n, hp) => n + hp.files.length, 0);
    const mib = plan.hosts.reduce((n, hp) => n + hp.files.reduce((m, f) => m + f.size, 0), 0) / (1 << 20);
    console.log(`\n${masters} masters (+etcd) + ${hosts.length - masters} nodes: ${files} files, ${mib.toFixed(1)} MiB in all\n`);
    console.log('| what | time | vs baseline | CLI peak RSS | target |');
    console.log('|---|---|---|---|---|');
    const baseline = scpMs + startMs;
    console.log(`| baseline: scp of the same files, ${hosts.length} hosts in parallel | ${seconds(scpMs)} | | | |`);
    console.log(`| baseline: services starting and healthy (${START_PHASES.join(', ')} phases) | ${seconds(startMs)} | | | |`);
    const ratio = `${(first.ms / baseline).toFixed(2)}x of ${seconds(baseline)}`;
    console.log(`| first deploy | ${seconds(first.ms)} | ${ratio} | ${first.maxRssMiB.toFixed(0)} MiB | within 1.5x, under 300 MB |`);
    console.log(
      `| no-change re-run (median of ${RERUNS}: ${reruns.map((r) => seconds(r.ms)).join(', ')}) | ${seconds(again.ms)} | | ` +
        `${Math.max(...reruns.map((r) => r.maxRssMiB)).toFixed(0)} MiB | under 2 s |`,
    );
    console.log('\n| phase | first deploy | median re-run |');
    console.log('|---|---|---|');
    for (const phase of Object.keys(first.phases)) console.log(`| ${phase} | ${seconds(first.phases[phase]!)} | ${seconds(again.phases[phase] ?? 0)} |`);
    console.log(`\nmedian re-run remote commands: ${await remoteTimeByStep(again.logPath)}`);
  } finally {
    await s.stop();
  }
};

await main();
