// A cluster for phase tests: the real render output for a small inventory, a deploy context around a
// fake executor, and canned replies in the formats the hosts print (facts, file stats).
import { requiredModules, requiredSysctls } from '../host-settings.js';
import { HASH_RECORD } from '../file-diff.js';
import { createContext } from '../context.js';
import { packageFactsQuery } from '../packages.js';
import { PHASE_NAMES, type DeployContext, type DeployOptions } from '../types.js';
import { buildClusterPlan } from '../../render/plan.js';
import { ALL_BINARIES, binaryIndexFor, clusterFilesFor, modelFrom } from '../../render/test-fixtures.js';
import type { HostPlan, PlannedFile } from '../../render/types.js';
import type { Executor } from '../../ssh/types.js';
import type { Rule } from './fake-executor.js';
import { nodesPhase } from '../phases/nodes.js';
import type { Phase } from '../types.js';

/** Three masters that are the etcd members, two worker nodes; `cluster` adds lines under `cluster:`. */
export const testCluster = (cluster = '') => {
  const model = modelFrom(
    `${[
      '  - { name: m1, address: 127.0.12.1, roles: [etcd, master] }',
      '  - { name: m2, address: 127.0.12.2, roles: [etcd, master] }',
      '  - { name: m3, address: 127.0.12.3, roles: [etcd, master] }',
      '  - { name: n1, address: 127.0.12.11, roles: [node] }',
      '  - { name: n2, address: 127.0.12.12, roles: [node] }',
    ].join('\n')}\n`,
    cluster,
  );
  const clusterFiles = clusterFilesFor(model);
  return { model, clusterFiles, plan: buildClusterPlan(model, clusterFiles, binaryIndexFor(ALL_BINARIES)) };
};
export type TestCluster = ReturnType<typeof testCluster>;

const defaultCluster = testCluster();
export const { plan } = defaultCluster;

export const hostPlan = (name: string, cluster: TestCluster = defaultCluster): HostPlan => {
  const hp = cluster.plan.hosts.find((h) => h.host.name === name);
  if (!hp) throw new Error(`no host ${name} in the test plan`);
  return hp;
};

export interface TestRun {
  readonly ctx: DeployContext;
  /** What a dry run would do, as `host: would ...` lines (as runDeploy collects them). */
  readonly dryRunLines: string[];
}

export const testContext = (executor: Executor, options: Partial<DeployOptions> = {}, cluster: TestCluster = defaultCluster): TestRun => {
  const dryRunLines: string[] = [];
  const ctx = createContext({
    model: cluster.model,
    plan: cluster.plan,
    executor,
    clusterFiles: cluster.clusterFiles,
    onDryRun: (host, description) => void dryRunLines.push(`${host.name}: would ${description}`),
    options: {
      dryRun: false,
      concurrency: 10,
      healthTimeoutMs: 60_000,
      ignorePreflight: new Set(),
      phases: new Set(PHASE_NAMES),
      signal: new AbortController().signal,
      ...options,
    },
  });
  return { ctx, dryRunLines };
};

/** How a host differs from one prepared as the plan wants, with the plan's units running. */
export interface HostState {
  readonly units?: Readonly<Record<string, string>>;
  readonly pendingRestarts?: readonly string[];
  readonly pendingReloads?: readonly string[];
  readonly loadedModules?: readonly string[];
  readonly sysctls?: Readonly<Record<string, string>>;
  readonly procSysWritable?: boolean;
  readonly modprobe?: boolean;
  /** Addresses the host holds (address -> interface), and `ip neigh` lines of those it does not. */
  readonly interfaces?: Readonly<Record<string, string>>;
  readonly neighbours?: Readonly<Record<string, string>>;
  /** The commands (and paths) the facts find, of those asked for; default: all but dnf (an apt host with every package). */
  readonly commands?: readonly string[];
  /** `ctr images ls` lines in containerd's k8s.io namespace (name digest ...); default: none. */
  readonly images?: readonly string[];
}

/** What the facts script prints on such a host (the `key=value` lines parseFacts reads). */
export const factsStdout = (hp: HostPlan, state: HostState = {}, { model }: TestCluster = defaultCluster): string => {
  const sysctls = state.sysctls ?? Object.fromEntries(requiredSysctls(hp).map((s) => [s.key, s.value]));
  const units = state.units ?? Object.fromEntries(hp.services.map((s) => [s.unit, 'active']));
  return [
    'os=Debian GNU/Linux 12 (bookworm)',
    'arch=x86_64',
    'systemd=yes',
    `hostname=${hp.host.name}`,
    'swap=0',
    'selinux=',
    `clock=${Date.now() / 1000}`,
    `proc-sys=${state.procSysWritable === false ? 'read-only' : 'writable'}`,
    'cgroup=2',
    `modprobe=${state.modprobe === false ? 'no' : 'yes'}`,
    ...(state.loadedModules ?? requiredModules(hp)).map((m) => `module=${m}`),
    ...Object.entries(sysctls).map(([key, value]) => `sysctl-file=/proc/sys/${key.replace(/\./g, '/')}:${value}`),
    ...Object.entries(units).map(([unit, s]) => `unit=${unit}=${s}`),
    ...(state.pendingRestarts ?? []).map((u) => `pending=${u}`),
    ...Object.entries(state.interfaces ?? {}).map(([address, name]) => `addr=${address}=${name}`),
    ...Object.entries(state.neighbours ?? {}).map(([address, line]) => `neigh=${address}=${line}`),
    ...(state.commands ?? packageFactsQuery(model, hp.host).filter((c) => c !== 'dnf')).map((c) => `command=${c}`),
    ...(state.pendingReloads ?? []).map((u) => `pending-reload=${u}`),
    ...(state.images ?? []).map((line) => `image=${line}`),
  ].join('\n');
};

/** The facts phase's one command on each named host. */
export const factsRules = (states: Readonly<Record<string, HostState>>, cluster: TestCluster = defaultCluster): Rule[] =>
  Object.entries(states).map(([host, state]) => ({
    host,
    command: /\. \/etc\/os-release/,
    reply: { stdout: factsStdout(hostPlan(host, cluster), state, cluster) },
  }));

/** A hash record line and a stat line for a file as upload's compare command prints them. */
export const recordLine = (f: PlannedFile, mtime: number, sha256 = f.sha256): string => `${sha256} ${f.size} ${mtime} ${f.path}`;
export const statLine = (f: PlannedFile, mtime: number): string => `${f.size} ${mtime} ${f.path}`;

/** The compare command's output: the host's hash record, then the stat of each planned file present. */
export const compareStdout = (record: readonly string[], stats: readonly string[]): string => [...record, '--- stat', ...stats, ''].join('\n');

export const COMPARE_COMMAND = new RegExp(`^cat ${HASH_RECORD}`);

/** The nodes phase's steps that go through the API: they need a real API server (the kubeconfigs here are placeholders). */
const NODE_API_STEPS = new Set(['label and taint the Node', 'read the Node status', 'Node status posted since the restart', "set the Node's podCIDR"]);

/** The nodes phase without its steps through the API: what the fake executor can answer. */
export const nodeServicesPhase: Phase = {
  ...nodesPhase,
  steps: (...args) => nodesPhase.steps(...args).filter((s) => !NODE_API_STEPS.has(s.title)),
};
