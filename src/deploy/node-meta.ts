// The labels and taints of each host's Node: what the inventory and the roles ask for, and the one
// merge patch that brings a registered Node in step. Applied through the API after the kubelet
// registers, since NodeRestriction forbids kubelets to set `node-role.kubernetes.io/*` labels.
// What kubeinstall set is recorded in annotations on the Node, so that a label or taint the inventory
// no longer lists is removed on the next run, and labels and taints others set are left alone.
import type { Taint } from '../inventory/model.js';
import type { NodeMeta } from '../inventory/node-meta.js';

/** Annotations listing what kubeinstall set: label keys, and taints as `key:effect`, comma-separated. */
export const MANAGED_ANNOTATIONS = { labels: 'kubeinstall.io/managed-labels', taints: 'kubeinstall.io/managed-taints' } as const;
/** On a Node `kubeinstall upgrade` cordoned: it uncordons it once restarted, in that run or, after a failure, the next. */
export const UPGRADE_CORDON_ANNOTATION = 'kubeinstall.io/cordoned-for-upgrade';

/** The part of a Node this reads (as the API returns it). */
export interface NodeObject {
  readonly metadata: {
    readonly resourceVersion?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
  };
  readonly spec?: { readonly taints?: readonly (Taint & { readonly timeAdded?: string })[]; readonly unschedulable?: boolean };
}

const taintId = (t: Pick<Taint, 'key' | 'effect'>): string => `${t.key}:${t.effect}`;

const listed = (annotation: string | undefined): string[] => (annotation ? annotation.split(',').filter(Boolean) : []);
const sameTaint = (a: Taint, b: Taint): boolean => taintId(a) === taintId(b) && (a.value ?? '') === (b.value ?? '');

export interface NodePatch {
  /** A JSON merge patch (with the Node's resourceVersion, so a concurrent change makes it fail rather than be lost). */
  readonly patch: object;
  /** What changes, for the run's notes: `+key=value`, `-key`, `+taint key=value:Effect`, `-taint key:Effect`. */
  readonly changes: readonly string[];
}

/** The patch that makes `node` carry `desired`, or undefined when it already does. */
export const nodeMetaPatch = (node: NodeObject, desired: NodeMeta): NodePatch | undefined => {
  const annotations = node.metadata.annotations ?? {};
  const labels = node.metadata.labels ?? {};
  const changes: string[] = [];

  const labelPatch: Record<string, string | null> = {};
  for (const key of listed(annotations[MANAGED_ANNOTATIONS.labels])) {
    if (!(key in desired.labels) && key in labels) {
      labelPatch[key] = null;
      changes.push(`-${key}`);
    }
  }
  for (const [key, value] of Object.entries(desired.labels)) {
    if (labels[key] !== value) {
      labelPatch[key] = value;
      changes.push(`+${key}=${value}`);
    }
  }

  const current = node.spec?.taints ?? [];
  const wanted = new Set(desired.taints.map(taintId));
  const wasManaged = new Set(listed(annotations[MANAGED_ANNOTATIONS.taints]));
  // Others' taints stay; ours are replaced by the desired ones (an unchanged one keeps its timeAdded).
  const kept = current.filter((t) => !wanted.has(taintId(t)) && !wasManaged.has(taintId(t)));
  const taints = [...kept, ...desired.taints.map((d) => current.find((t) => sameTaint(t, d)) ?? d)];
  for (const t of current) if (!taints.includes(t)) changes.push(`-taint ${taintId(t)}`);
  for (const t of taints) if (!current.includes(t)) changes.push(`+taint ${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`);

  const managed = { labels: Object.keys(desired.labels).sort().join(','), taints: [...wanted].sort().join(',') };
  const annotationPatch: Record<string, string | null> = {};
  for (const [what, name] of Object.entries(MANAGED_ANNOTATIONS) as [keyof typeof managed, string][]) {
    const value = managed[what] || null;
    if ((annotations[name] ?? null) !== value) annotationPatch[name] = value;
  }

  const taintsChanged = taints.length !== current.length || taints.some((t, i) => t !== current[i]);
  if (Object.keys(labelPatch).length === 0 && !taintsChanged && Object.keys(annotationPatch).length === 0) return undefined;
  return {
    patch: {
      metadata: {
        ...(node.metadata.resourceVersion ? { resourceVersion: node.metadata.resourceVersion } : {}),
        ...(Object.keys(labelPatch).length > 0 ? { labels: labelPatch } : {}),
        ...(Object.keys(annotationPatch).length > 0 ? { annotations: annotationPatch } : {}),
      },
      // A merge patch replaces a list whole: the full list, others' taints included.
      ...(taintsChanged ? { spec: { taints } } : {}),
    },
    changes,
  };
};
