// Cordon, drain and delete a Node through the API, as `kubectl drain` and `kubectl delete node` do:
// the Node marked unschedulable, each of its pods evicted with the Eviction API (which honours
// PodDisruptionBudgets: 429 until the budget allows it), then waited for until gone.
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeinstallError } from '../util/errors.js';
import type { ApiTransport } from './api-client.js';

export interface PodObject {
  readonly metadata: {
    readonly name: string;
    readonly namespace: string;
    readonly uid?: string;
    readonly annotations?: Readonly<Record<string, string>>;
    readonly ownerReferences?: readonly { readonly kind: string; readonly name: string; readonly controller?: boolean }[];
  };
  readonly status?: { readonly phase?: string };
}

/** What drain does with a pod, as kubectl drain decides it. */
export type PodFate = 'evict' | 'skip-daemonset' | 'skip-mirror' | 'refuse-unmanaged';

const MIRROR_ANNOTATION = 'kubernetes.io/config.mirror';

export const podFate = (pod: PodObject, force: boolean): PodFate => {
  // A static pod's mirror: the API cannot remove it; the kubelet, stopped next, runs it.
  if (pod.metadata.annotations?.[MIRROR_ANNOTATION] !== undefined) return 'skip-mirror';
  const controller = pod.metadata.ownerReferences?.find((o) => o.controller);
  // The DaemonSet controller would recreate it at once (kubectl drain --ignore-daemonsets).
  if (controller?.kind === 'DaemonSet') return 'skip-daemonset';
  // Nothing recreates a pod without a controller elsewhere: evicted only with --force.
  if (!controller && !force && !['Succeeded', 'Failed'].includes(pod.status?.phase ?? '')) return 'refuse-unmanaged';
  return 'evict';
};

const podId = (p: PodObject): string => `${p.metadata.namespace}/${p.metadata.name}`;
const nodePath = (node: string): string => `/api/v1/nodes/${encodeURIComponent(node)}`;
const podPath = (p: PodObject): string => `/api/v1/namespaces/${encodeURIComponent(p.metadata.namespace)}/pods/${encodeURIComponent(p.metadata.name)}`;

const failed = (what: string, status: number, body: string): KubeinstallError => new KubeinstallError(`${what}: HTTP ${status}: ${body.slice(0, 300)}`);

/** Marks the Node unschedulable (or schedulable again), in the same patch setting (or, null, removing) annotations;
 * false when there is no such Node (never registered, or deleted before). */
const setUnschedulable = async (api: ApiTransport, node: string, unschedulable: boolean, annotations: Annotations): Promise<boolean> => {
  const res = await api({
    method: 'PATCH',
    path: nodePath(node),
    // As kubectl uncordon: the field removed rather than set to false.
    body: JSON.stringify({ spec: { unschedulable: unschedulable ? true : null }, ...(Object.keys(annotations).length ? { metadata: { annotations } } : {}) }),
    contentType: 'application/merge-patch+json',
  });
  if (res.status === 404) return false;
  if (res.status < 200 || res.status >= 300) throw failed(`${unschedulable ? 'cordoning' : 'uncordoning'} Node ${node}`, res.status, res.body);
  return true;
};

type Annotations = Readonly<Record<string, string | null>>;
export const cordon = (api: ApiTransport, node: string, annotations: Annotations = {}): Promise<boolean> => setUnschedulable(api, node, true, annotations);
export const uncordon = (api: ApiTransport, node: string, annotations: Annotations = {}): Promise<boolean> => setUnschedulable(api, node, false, annotations);

export const podsOn = async (api: ApiTransport, node: string): Promise<PodObject[]> => {
  const res = await api({ method: 'GET', path: `/api/v1/pods?fieldSelector=${encodeURIComponent(`spec.nodeName=${node}`)}` });
  if (res.status !== 200) throw failed(`listing the pods on ${node}`, res.status, res.body);
  return (JSON.parse(res.body) as { items: PodObject[] }).items;
};

export interface DrainOptions {
  readonly force: boolean;
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
}

/** Evicts what kubectl drain would and waits until those pods are gone; returns a line for the task tree. */
export const drain = async (api: ApiTransport, node: string, opts: DrainOptions): Promise<string> => {
  const pods = await podsOn(api, node);
  const fates = pods.map((p) => ({ pod: p, fate: podFate(p, opts.force) }));
  const refused = fates.filter((f) => f.fate === 'refuse-unmanaged').map((f) => podId(f.pod));
  if (refused.length)
    throw new KubeinstallError(
      `${node}: pods not managed by a controller would be lost: ${refused.join(', ')} (--force evicts them anyway); ` +
        `nothing was evicted, the Node stays cordoned (\`kubectl uncordon ${node}\` undoes that)`,
    );
  const evict = fates.filter((f) => f.fate === 'evict').map((f) => f.pod);
  const deadline = Date.now() + opts.timeoutMs;
  const waiting = new Set(evict);
  while (waiting.size) {
    for (const pod of [...waiting]) {
      const body = JSON.stringify({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: pod.metadata.name, namespace: pod.metadata.namespace } });
      const res = await api({ method: 'POST', path: `${podPath(pod)}/eviction`, body });
      // 404: gone already; 429: a PodDisruptionBudget forbids it for now, asked again below.
      if (res.status === 404 || (res.status >= 200 && res.status < 300)) waiting.delete(pod);
      else if (res.status !== 429) throw failed(`evicting ${podId(pod)} from ${node}`, res.status, res.body);
    }
    if (!waiting.size) break;
    if (Date.now() >= deadline)
      throw new KubeinstallError(
        `${node}: still not evicted after ${opts.timeoutMs / 1000} s (a PodDisruptionBudget forbids it): ${[...waiting].map(podId).join(', ')}`,
      );
    await sleep(1000, undefined, { signal: opts.signal });
  }
  // Evicted pods terminate gracefully: wait until the API no longer has them (or has another pod of that name).
  for (const pod of evict) {
    for (;;) {
      const res = await api({ method: 'GET', path: podPath(pod) });
      if (res.status === 404 || (res.status === 200 && (JSON.parse(res.body) as PodObject).metadata.uid !== pod.metadata.uid)) break;
      if (Date.now() >= deadline) throw new KubeinstallError(`${node}: ${podId(pod)} still terminating after ${opts.timeoutMs / 1000} s`);
      await sleep(1000, undefined, { signal: opts.signal });
    }
  }
  const skipped = fates.filter((f) => f.fate !== 'evict').length;
  return `${evict.length} pod(s) evicted${skipped ? `, ${skipped} left (DaemonSet or static pods)` : ''}`;
};

/** Deletes the Node; false when there was none. */
export const deleteNode = async (api: ApiTransport, node: string): Promise<boolean> => {
  const res = await api({ method: 'DELETE', path: nodePath(node) });
  if (res.status === 404) return false;
  if (res.status < 200 || res.status >= 300) throw failed(`deleting Node ${node}`, res.status, res.body);
  return true;
};
