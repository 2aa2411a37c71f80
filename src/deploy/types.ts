// The shapes shared by the deploy manager and its phases.
import type { ClusterModel, Host } from '../inventory/model.js';
import type { ClusterPlan, HostPlan } from '../render/types.js';
import type { Executor } from '../ssh/types.js';
import type { KubeconfigContent } from '../kubeconfig/kubeconfig.js';
import type { Facts } from './facts.js';
import type { MaxUnavailable, UpgradePolicy } from './roll.js';

export const PHASE_NAMES = ['connect', 'facts', 'preflight', 'prepare', 'upload', 'etcd', 'control-plane', 'nodes', 'verify'] as const;
export type PhaseName = (typeof PHASE_NAMES)[number];

export interface DeployOptions {
  readonly dryRun: boolean;
  readonly concurrency: number;
  /** Preflight check names (lower case) whose errors become warnings; `all` ignores every check. */
  readonly ignorePreflight: ReadonlySet<string>;
  /** Phases to run (by name); deploy always runs connect and facts since every later phase reads their results. */
  readonly phases: ReadonlySet<string>;
  /** Limit the run to these hosts (inventory names). */
  readonly hosts?: ReadonlySet<string>;
  readonly signal: AbortSignal;
  /** How long to wait for a service to become healthy (and, in verify, for each Node to be Ready). */
  readonly healthTimeoutMs: number;
  /** How many hosts restart their node services at once when those run already (default: one). */
  readonly maxUnavailable?: MaxUnavailable;
  /** Set by `kubeinstall upgrade`: versions checked against the hosts', each Node drained around its restart. */
  readonly upgrade?: UpgradePolicy;
  /** Verify reports Nodes that are not Ready as warnings instead of failing, and does not wait for them (`--allow-not-ready`). */
  readonly allowNotReady?: boolean;
}

/** What happened on one host during the run, for the summary and for the tests. */
export interface HostOutcome {
  /** Planned files that differed on the host when compared (sent, unless this is a dry run). */
  readonly changed: string[];
  readonly uploaded: string[];
  readonly restarted: string[];
  /** Units reloaded (not restarted) for a changed config. */
  readonly reloaded: string[];
  readonly notes: string[];
  /** Milliseconds this host spent in each phase it finished. */
  readonly durationsMs: Record<string, number>;
}

export interface DeployContext {
  readonly model: ClusterModel;
  readonly plan: ClusterPlan;
  readonly executor: Executor;
  readonly options: DeployOptions;
  /** Filled by the facts phase. */
  readonly facts: Map<string, Facts>;
  /** Replaces a host's plan with one the facts refined (render/plan.ts withKubeletResolvConf); later phases see it. */
  refineHostPlan(hp: HostPlan): void;
  readonly outcomes: Map<string, HostOutcome>;
  /** A kubeconfig from the cluster folder (`kubeconfigs/<name>.conf`), for talking to the API servers from here. */
  credentials(name: 'admin' | 'super-admin'): KubeconfigContent;
  /** Runs `work` once per deploy however many hosts ask for it (e.g. applying RBAC). */
  once<T>(key: string, work: () => Promise<T>): Promise<T>;
  /** Runs a changing action, or in dry-run describes it and returns undefined. */
  wet<T>(host: Host, description: string, action: () => Promise<T>): Promise<T | undefined>;
}

/** One line of the task tree under a host; returns a short result shown next to its title. */
export interface Step {
  readonly title: string;
  /** Changes nothing (a check before the host's restart): its failure names the host without stopping a roll. */
  readonly checksOnly?: boolean;
  /** `progress` shows how far a long step got, where a terminal can redraw it (a no-op elsewhere). */
  run(ctx: DeployContext, hostPlan: HostPlan, progress: (text: string) => void): Promise<string | void>;
}

/** A deploy phase (PHASE_NAMES), or one of another command run by the same manager (reset). */
export interface Phase {
  /** A deploy phase (PhaseName), or one of a day-2 operation's own (e.g. `etcd restore`'s). */
  readonly name: string;
  readonly title: string;
  /** The hosts this phase acts on (already limited by --hosts); none means the phase is skipped. */
  hosts(ctx: DeployContext): readonly HostPlan[];
  steps(ctx: DeployContext, hostPlan: HostPlan): readonly Step[];
  /** How many hosts run at once; defaults to --concurrency. */
  concurrency?(ctx: DeployContext): number;
  /** When the phase restarts what already runs: how many hosts at once (instead of `concurrency`). A failing
   * host then stops the roll: hosts not started yet are left untouched. Undefined: not a roll. */
  roll?(ctx: DeployContext): number | undefined;
  /** Once all hosts finished (e.g. cross-host checks, member list); may return a line for the tree. */
  finish?(ctx: DeployContext): Promise<string | void>;
}

export const outcomeOf = (ctx: DeployContext, host: Host): HostOutcome => {
  let outcome = ctx.outcomes.get(host.name);
  if (!outcome) {
    outcome = { changed: [], uploaded: [], restarted: [], reloaded: [], notes: [], durationsMs: {} };
    ctx.outcomes.set(host.name, outcome);
  }
  return outcome;
};
