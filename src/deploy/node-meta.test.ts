import { describe, expect, it } from 'vitest';
import type { Role, Taint } from '../inventory/model.js';
import { CONTROL_PLANE_ROLE, desiredNodeMeta } from '../inventory/node-meta.js';
import { MANAGED_ANNOTATIONS, nodeMetaPatch, type NodeObject } from './node-meta.js';

const host = (roles: Role[], labels: Record<string, string> = {}, taints: Taint[] = []) => ({ roles, labels, taints });
const CP_TAINT: Taint = { key: CONTROL_PLANE_ROLE, effect: 'NoSchedule' };

/** What the API server does with a merge patch (RFC 7386), for the Node fields we patch. */
const apply = (node: NodeObject, patch: any): NodeObject => {
  const merge = (a: Record<string, string> | undefined, p: Record<string, string | null> | undefined) => {
    const out: Record<string, string> = { ...(a ?? {}) };
    for (const [k, v] of Object.entries(p ?? {}))
      if (v === null) delete out[k];
      else out[k] = v;
    return out;
  };
  return {
    metadata: { labels: merge(node.metadata.labels, patch.metadata?.labels), annotations: merge(node.metadata.annotations, patch.metadata?.annotations) },
    spec: { taints: patch.spec?.taints ?? node.spec?.taints },
  };
};

describe('nodeMetaPatch', () => {
  const registered: NodeObject = { metadata: { resourceVersion: '7', labels: { 'kubernetes.io/hostname': 'm1' } } };

  it('sets labels and taints on a fresh Node, records what it manages, and then finds it in step', () => {
    const desired = desiredNodeMeta(host(['master'], { zone: 'a' }));
    const first = nodeMetaPatch(registered, desired)!;
    expect(first.patch).toEqual({
      metadata: {
        resourceVersion: '7',
        labels: { [CONTROL_PLANE_ROLE]: '', zone: 'a' },
        annotations: { [MANAGED_ANNOTATIONS.labels]: `${CONTROL_PLANE_ROLE},zone`, [MANAGED_ANNOTATIONS.taints]: `${CONTROL_PLANE_ROLE}:NoSchedule` },
      },
      spec: { taints: [CP_TAINT] },
    });
    expect(first.changes).toEqual([`+${CONTROL_PLANE_ROLE}=`, '+zone=a', `+taint ${CONTROL_PLANE_ROLE}:NoSchedule`]);
    expect(nodeMetaPatch(apply(registered, first.patch), desired)).toBeUndefined();
  });

  it('removes what it set and the inventory dropped, and leaves labels and taints others set', () => {
    const before = desiredNodeMeta(host(['node'], { zone: 'a', rack: '1' }, [{ key: 'gpu', effect: 'NoSchedule' }]));
    let node = apply(registered, nodeMetaPatch(registered, before)!.patch);
    // Someone else labels and taints the Node.
    node = {
      ...node,
      metadata: { ...node.metadata, labels: { ...node.metadata.labels, team: 'x' } },
      spec: { taints: [...node.spec!.taints!, { key: 'maint', effect: 'NoExecute', timeAdded: 't' }] },
    };
    const after = desiredNodeMeta(host(['node'], { zone: 'b' }));
    const change = nodeMetaPatch(node, after)!;
    expect(change.changes).toEqual(['-rack', '+zone=b', '-taint gpu:NoSchedule']);
    node = apply(node, change.patch);
    expect(node.metadata.labels).toEqual({ 'kubernetes.io/hostname': 'm1', zone: 'b', team: 'x' });
    expect(node.spec!.taints).toEqual([{ key: 'maint', effect: 'NoExecute', timeAdded: 't' }]);
    expect(node.metadata.annotations).toEqual({ [MANAGED_ANNOTATIONS.labels]: 'zone' });
    expect(nodeMetaPatch(node, after)).toBeUndefined();
  });
});
