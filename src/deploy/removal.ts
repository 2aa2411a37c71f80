// What `kubeinstall remove` may do, decided before anything changes: pure rules, tested alone.
import { hasRole, hostsWithRole, runsKubelet, type ClusterModel, type Host } from '../inventory/model.js';

/** A majority of `n` voting members: what etcd needs to commit anything, a membership change included. */
export const quorumOf = (n: number): number => Math.floor(n / 2) + 1;

/**
 * Removing `k` of the `n` voting members of the running cluster (one at a time) is refused when the
 * members left would be fewer than a majority of the current cluster: n - k < floor(n/2) + 1, which also
 * refuses removing the last member. Checked against the current cluster, it holds at every step: each
 * single removal from m members (n - k < m <= n) leaves m - 1 >= n - k >= quorumOf(n) >= quorumOf(m).
 */
export const etcdRemovalRefusal = (n: number, k: number): string | undefined => {
  if (k === 0) return undefined;
  if (n - k < 1) return `it would remove the last etcd member${n > 1 ? 's' : ''} (${k} of ${n})`;
  if (n - k < quorumOf(n))
    return `removing ${k} of ${n} etcd members leaves ${n - k}, fewer than a majority (${quorumOf(n)}) of the current ${n}: the cluster could lose quorum`;
  return undefined;
};

/** An even member count tolerates no more failures than one member fewer. */
export const etcdRemovalWarning = (n: number, k: number): string | undefined =>
  k > 0 && (n - k) % 2 === 0
    ? `removing ${k} of ${n} etcd members leaves ${n - k}, an even count: it tolerates ${n - k - quorumOf(n - k)} failed member(s), as ${n - k - 1} would`
    : undefined;

/** Refusals the inventory alone decides (a master the cluster needs). */
export const inventoryRefusals = (model: ClusterModel, removing: readonly Host[]): string[] => {
  const names = new Set(removing.map((h) => h.name));
  const masters = hostsWithRole(model, 'master');
  const refusals: string[] = [];
  if (masters.length && masters.every((m) => names.has(m.name)))
    refusals.push(`it would remove the last master (${masters.map((m) => m.name).join(', ')}); a cluster needs one`);
  const endpointHost =
    model.apiEndpoint.kind === 'master' ? masters.find((m) => names.has(m.name) && [m.address, m.internalAddress].includes(model.apiEndpoint.host)) : undefined;
  if (endpointHost)
    refusals.push(
      `${endpointHost.name} is the cluster's API endpoint (cluster.apiEndpoint ${model.apiEndpoint.host}): ` +
        'point cluster.apiEndpoint at another master and deploy first',
    );
  return refusals;
};

/** What remove does on a host, one line, for the confirmation and the closing report. */
export const removalSteps = (host: Host): string => {
  const steps = [
    ...(runsKubelet(host) ? ['cordon and drain its Node (evictions), stop and disable kubelet and kube-proxy, delete the Node'] : []),
    ...(hasRole(host, 'etcd') ? ['remove it from etcd (member remove), stop and disable etcd'] : []),
    'reset it: stop every kubeinstall unit, remove every file kubeinstall placed (kubeinstall reset), etcd data kept aside',
  ];
  return `${host.name}: ${steps.join('; ')}`;
};

/** What stays behind, for the closing report. */
export const leftBehind = (host: Host, etcdAside: string): string =>
  `${host.name}: reset${hasRole(host, 'etcd') ? ` (its etcd data kept at ${etcdAside})` : ''}; delete it from the inventory ` +
  '(a later `deploy` with it still listed adds it back)';
