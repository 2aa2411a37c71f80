// The closing report of a run: per host what changed and what runs, and how to use the cluster.
import { join } from 'node:path';
import { isEtcdOnly, runsKubelet, type ClusterModel } from '../inventory/model.js';
import { etcdClientUrl } from '../render/etcd.js';
import type { ClusterPlan } from '../render/types.js';
import { EXIT_FAILED, KubeinstallError } from '../util/errors.js';
import { PhaseFailed } from './manager.js';
import type { RunResult } from './run.js';
import type { HostOutcome } from './types.js';

export interface HostSummary {
  readonly name: string;
  readonly uploaded: number;
  readonly restarted: readonly string[];
  readonly reloaded: readonly string[];
  readonly runs: readonly string[];
  readonly notes: readonly string[];
  /** Milliseconds per phase this host finished. */
  readonly durationsMs: Readonly<Record<string, number>>;
}

export interface DeploySummary {
  readonly filesUploaded: number;
  readonly servicesRestarted: number;
  readonly hosts: readonly HostSummary[];
}

export const summarise = (plan: ClusterPlan, outcomes: ReadonlyMap<string, HostOutcome>, inRun: (name: string) => boolean): DeploySummary => {
  const hosts = plan.hosts
    .filter((hp) => inRun(hp.host.name))
    .map((hp) => {
      const o = outcomes.get(hp.host.name);
      return {
        name: hp.host.name,
        uploaded: o?.uploaded.length ?? 0,
        restarted: o?.restarted ?? [],
        reloaded: o?.reloaded ?? [],
        runs: hp.services.map((s) => s.unit),
        notes: o?.notes ?? [],
        durationsMs: o?.durationsMs ?? {},
      };
    });
  return {
    filesUploaded: hosts.reduce((n, h) => n + h.uploaded, 0),
    servicesRestarted: hosts.reduce((n, h) => n + h.restarted.length, 0),
    hosts,
  };
};

const adminKubeconfig = (model: ClusterModel): string => join(model.clusterDir, 'kubeconfigs/admin.conf');

/** `deploy -o json` after a run: per host what was uploaded and restarted, what runs, how long each phase took. */
export const deployReport = (r: RunResult, dryRun: boolean) => ({
  status: 'ok' as const,
  dryRun,
  filesUploaded: r.summary.filesUploaded,
  servicesRestarted: r.summary.servicesRestarted,
  durationMs: r.durationMs,
  phaseDurationsMs: Object.fromEntries(r.phaseTimings),
  hosts: r.summary.hosts.map((h) => ({
    name: h.name,
    uploaded: h.uploaded,
    restarted: h.restarted,
    reloaded: h.reloaded,
    running: h.runs,
    durationsMs: h.durationsMs,
    notes: h.notes,
  })),
  ...(dryRun ? { wouldChange: r.dryRunLines } : { adminKubeconfig: isEtcdOnly(r.model) ? undefined : adminKubeconfig(r.model) }),
  commandLog: r.logPath,
});

/** `deploy -o json` after a failure: the phase and, per failing host, the step and message. */
export const failureReport = (err: unknown) => ({
  status: 'failed' as const,
  exitCode: err instanceof KubeinstallError ? err.exitCode : EXIT_FAILED,
  message: err instanceof Error ? err.message : String(err),
  ...(err instanceof PhaseFailed ? { phase: err.phase, failures: err.failures } : {}),
});

const howToUse = (model: ClusterModel): string[] => {
  if (isEtcdOnly(model)) {
    const pki = join(model.clusterDir, 'pki/etcd');
    return [
      'etcd cluster; check it with:',
      `  etcdctl --endpoints=${model.hosts.map(etcdClientUrl).join(',')} --cacert=${pki}/ca.crt ` +
        `--cert=${pki}/healthcheck-client.crt --key=${pki}/healthcheck-client.key endpoint health`,
    ];
  }
  const admin = adminKubeconfig(model);
  return [`admin kubeconfig: ${admin}`, `  kubectl --kubeconfig ${admin} get --raw /readyz`];
};

export const formatSummary = (s: DeploySummary, model: ClusterModel, dryRun: boolean, logPath: string): string => {
  const lines = s.hosts.map((h) => {
    const reloaded = h.reloaded.length ? `, reloaded ${h.reloaded.join(', ')}` : '';
    const change =
      h.uploaded || h.restarted.length ? `${h.uploaded} file(s) uploaded, restarted ${h.restarted.join(', ') || 'nothing'}${reloaded}` : 'unchanged';
    return `  ${h.name}: ${change}; runs ${h.runs.join(', ') || 'nothing'}${h.notes.map((n) => `\n    note: ${n}`).join('')}`;
  });
  const total =
    s.filesUploaded || s.servicesRestarted
      ? `${s.filesUploaded} file(s) uploaded, ${s.servicesRestarted} service(s) restarted`
      : 'nothing changed: 0 files uploaded, 0 services restarted';
  return [
    dryRun ? 'Dry run: nothing was changed on any host.' : `Deploy complete: ${total}.`,
    ...lines,
    ...(dryRun ? [] : howToUse(model)),
    ...(model.network.plugin === 'none' && model.hosts.some(runsKubelet)
      ? ['pod network: none (cluster.network.plugin): the Nodes stay NotReady until you apply one (e.g. kubectl apply -f its manifest)']
      : []),
    `remote command log: ${logPath}`,
  ].join('\n');
};
