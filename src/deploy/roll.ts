// How deploy rolls restarts of what already runs: etcd members and masters one at a time, hosts with node
// services (kubelet, kube-proxy, containerd, kube-lb) in batches of --max-unavailable; and the upgrade
// policy, which drains each Node around its restart.

/** `--max-unavailable`: a number of hosts, or a percentage of the hosts that run node services. */
export type MaxUnavailable = { readonly count: number } | { readonly percent: number };

export const DEFAULT_MAX_UNAVAILABLE: MaxUnavailable = { count: 1 };

/** What `kubeinstall upgrade` adds to a deploy. */
export interface UpgradePolicy {
  /** How long the evictions of one Node may take. */
  readonly drainTimeoutMs: number;
  /** Also evict pods no controller manages (they are lost). */
  readonly force: boolean;
}

/** Hosts restarting at once out of `total`: a percentage rounds down, as Kubernetes' maxUnavailable does, but never below one. */
export const batchSize = (max: MaxUnavailable, total: number): number =>
  Math.max(1, Math.min(total, 'count' in max ? max.count : Math.floor((total * max.percent) / 100)));

/** `2` or `25%`; undefined when it is neither. */
export const parseMaxUnavailable = (text: string): MaxUnavailable | undefined => {
  const m = /^(\d+)(%?)$/.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  if (m[2]) return n >= 1 && n <= 100 ? { percent: n } : undefined;
  return n >= 1 && Number.isSafeInteger(n) ? { count: n } : undefined;
};

export const describeMaxUnavailable = (max: MaxUnavailable): string => ('count' in max ? String(max.count) : `${max.percent}%`);
