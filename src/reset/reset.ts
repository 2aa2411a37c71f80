// The I/O edge of reset: inventory in, --hosts checked, the operator's confirmation, then under the
// cluster lock the connect phase and the per-host reset on the deploy manager (same task tree, plain
// lines and command log as deploy). Neither the PKI nor the binaries are read: what goes is what each
// host's record says kubeinstall placed there.
import { join } from 'node:path';
import { confirmDestructive } from '../cli/confirm.js';
import { connectPhase } from '../deploy/phases/connect.js';
import { checkHostsOption } from '../deploy/hosts.js';
import { Interrupted, type Layout } from '../deploy/manager.js';
import { runDeploy, type RunResult } from '../deploy/run.js';
import { loadInventory } from '../inventory/load.js';
import { createExecutor } from '../ssh/executor.js';
import { withClusterLock } from '../util/cluster-lock.js';
import { KubeinstallError, type Problem } from '../util/errors.js';
import { etcdAsidePath } from './items.js';
import { hostOnlyPlan, resetPhase } from './phase.js';

export interface ResetRequest {
  readonly inventory: string;
  /** Only these hosts (inventory names); all of them when unset. */
  readonly hosts?: ReadonlySet<string>;
  readonly yes: boolean;
  readonly purgeData: boolean;
  readonly dryRun: boolean;
  readonly concurrency: number;
  readonly layout: Layout;
  readonly signal: AbortSignal;
  readonly insecureSkipHostKeyCheck?: boolean;
  readonly onWarnings?: (warnings: readonly Problem[]) => void;
}

/** What the operator is asked to agree to. */
export const resetConsequences = (hosts: readonly string[], purgeData: boolean, etcdAside: string): string[] => [
  `on ${hosts.join(', ')}: stop and disable every unit kubeinstall installed, remove every file it placed, kube-proxy's iptables chains, ` +
    'the kubelet and containerd state and kubeinstall state',
  purgeData ? 'DELETE the etcd data of every etcd member among them (--purge-data)' : `move the etcd data of every etcd member among them to ${etcdAside}`,
];

export const resetInventory = async (req: ResetRequest): Promise<RunResult> => {
  const { model, warnings } = await loadInventory(req.inventory);
  req.onWarnings?.(warnings);
  checkHostsOption(model, req.hosts, req.inventory);
  const targets = model.hosts.filter((h) => !req.hosts || req.hosts.has(h.name)).map((h) => h.name);
  const opts = { purgeData: req.purgeData, etcdAside: etcdAsidePath(new Date()) };
  if (!req.dryRun)
    await confirmDestructive({ yes: req.yes, command: 'kubeinstall reset', consequences: resetConsequences(targets, req.purgeData, opts.etcdAside) });
  return withClusterLock(model.clusterDir, async () => {
    const executor = createExecutor({
      clusterKnownHosts: join(model.clusterDir, 'known_hosts'),
      concurrency: req.concurrency,
      insecureSkipHostKeyCheck: req.insecureSkipHostKeyCheck,
    });
    const phases = [connectPhase, resetPhase(opts)];
    try {
      return await runDeploy({
        command: 'reset',
        model,
        plan: { hosts: hostOnlyPlan(model.hosts), manifests: [] },
        clusterFiles: new Map(), // reset talks to no API server
        executor,
        layout: req.layout,
        phases,
        options: {
          dryRun: req.dryRun,
          concurrency: req.concurrency,
          hosts: req.hosts,
          signal: req.signal,
          phases: new Set(phases.map((p) => p.name)),
          ignorePreflight: new Set(), // reset runs no preflight
          healthTimeoutMs: 0, // and waits for no service
        },
      });
    } catch (err) {
      if (err instanceof Interrupted)
        throw new KubeinstallError('interrupted: every reset step is idempotent; re-running the same reset finishes it', err.exitCode);
      throw err;
    }
  });
};
