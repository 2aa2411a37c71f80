import { describe, expect, it } from 'vitest';
import type { Role, Taint } from './model.js';
import { CONTROL_PLANE_ROLE, desiredNodeMeta } from './node-meta.js';

const host = (roles: Role[], labels: Record<string, string> = {}, taints: Taint[] = []) => ({ roles, labels, taints });
const CP_TAINT: Taint = { key: CONTROL_PLANE_ROLE, effect: 'NoSchedule' };

describe('desiredNodeMeta', () => {
  it('labels a master with its role and taints it NoSchedule; a master that is also a node gets no taint; a node neither', () => {
    expect(desiredNodeMeta(host(['etcd', 'master']))).toEqual({ labels: { [CONTROL_PLANE_ROLE]: '' }, taints: [CP_TAINT] });
    expect(desiredNodeMeta(host(['master', 'node']))).toEqual({ labels: { [CONTROL_PLANE_ROLE]: '' }, taints: [] });
    expect(desiredNodeMeta(host(['node'], { zone: 'a' }, [{ key: 'gpu', value: 'yes', effect: 'NoExecute' }]))).toEqual({
      labels: { zone: 'a' },
      taints: [{ key: 'gpu', value: 'yes', effect: 'NoExecute' }],
    });
  });

  it('lets the inventory restate the control-plane taint without listing it twice', () => {
    const own: Taint = { ...CP_TAINT, value: 'x' };
    expect(desiredNodeMeta(host(['master'], {}, [own])).taints).toEqual([own]);
  });
});
