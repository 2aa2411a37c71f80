// What each host's Node should carry: the role label and taint of a master, and the inventory's own
// labels and taints. Read by render (the kubelet registers with these taints, so a new master is never
// schedulable, not even for a moment) and by deploy (which keeps the Node in step through the API).
import { hasRole, type Host, type Taint } from './model.js';

export const CONTROL_PLANE_ROLE = 'node-role.kubernetes.io/control-plane';

export interface NodeMeta {
  readonly labels: Readonly<Record<string, string>>;
  readonly taints: readonly Taint[];
}

const taintKey = (t: Pick<Taint, 'key' | 'effect'>): string => `${t.key}:${t.effect}`;

/** A master carries the control-plane role label; one that is not also a `node` is tainted NoSchedule.
 * The inventory's own labels and taints come on top (a taint of the same key and effect replaces the role's). */
export const desiredNodeMeta = (host: Pick<Host, 'roles' | 'labels' | 'taints'>): NodeMeta => {
  const master = hasRole(host, 'master');
  const roleTaints: Taint[] = master && !hasRole(host, 'node') ? [{ key: CONTROL_PLANE_ROLE, effect: 'NoSchedule' }] : [];
  const own = new Set(host.taints.map(taintKey));
  return {
    labels: { ...(master ? { [CONTROL_PLANE_ROLE]: '' } : {}), ...host.labels },
    taints: [...roleTaints.filter((t) => !own.has(taintKey(t))), ...host.taints],
  };
};
