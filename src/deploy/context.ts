// Builds the context every phase reads: the model, the plan, the executor and the run's options.
import type { Host, ClusterModel } from '../inventory/model.js';
import { parseKubeconfig, type KubeconfigContent } from '../kubeconfig/kubeconfig.js';
import { ADMIN_KUBECONFIGS } from '../pki/specs.js';
import type { ClusterFiles, ClusterPlan } from '../render/types.js';
import type { Executor } from '../ssh/types.js';
import { KubeinstallError } from '../util/errors.js';
import type { DeployContext, DeployOptions } from './types.js';

export interface ContextInput {
  readonly model: ClusterModel;
  readonly plan: ClusterPlan;
  readonly executor: Executor;
  readonly options: DeployOptions;
  readonly clusterFiles: ClusterFiles;
  /** Dry-run lines ("host: would ...") go here. */
  readonly onDryRun: (host: Host, description: string) => void;
}

export const createContext = (input: ContextInput): DeployContext => {
  const onceResults = new Map<string, Promise<unknown>>();
  const parsed = new Map<string, KubeconfigContent>();
  let plan = input.plan;
  return {
    model: input.model,
    get plan() {
      return plan;
    },
    refineHostPlan: (hp) => {
      plan = { ...plan, hosts: plan.hosts.map((h) => (h.host.name === hp.host.name ? hp : h)) };
    },
    executor: input.executor,
    options: input.options,
    facts: new Map(),
    outcomes: new Map(),
    credentials: (name) => {
      const file = ADMIN_KUBECONFIGS[name];
      const cached = parsed.get(file);
      if (cached) return cached;
      const data = input.clusterFiles.get(file);
      if (!data) throw new KubeinstallError(`${input.model.clusterDir}/${file} is missing: run \`kubeinstall certs\` first`);
      try {
        const content = parseKubeconfig(data.toString('utf8'));
        parsed.set(file, content);
        return content;
      } catch (err) {
        throw new KubeinstallError(`${input.model.clusterDir}/${file}: ${(err as Error).message}`);
      }
    },
    once: <T>(key: string, work: () => Promise<T>): Promise<T> => {
      if (!onceResults.has(key)) onceResults.set(key, work());
      return onceResults.get(key) as Promise<T>;
    },
    wet: async (host, description, action) => {
      if (!input.options.dryRun) return action();
      input.onDryRun(host, description);
      return undefined;
    },
  };
};
