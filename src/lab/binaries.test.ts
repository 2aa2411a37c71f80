import { describe, expect, it } from 'vitest';
import { planBinaries } from './binaries.js';

const MACHINE = new Map([
  ['etcd', '/usr/bin/etcd'],
  ['etcdctl', '/usr/bin/etcdctl'],
  ['containerd', '/usr/bin/containerd'],
  ['containerd-shim-runc-v2', '/usr/bin/containerd-shim-runc-v2'],
  ['ctr', '/usr/bin/ctr'],
  ['runc', '/usr/sbin/runc'],
]);
const KUBERNETES = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubectl', 'kubelet', 'kube-proxy'];

describe('lab binaries', () => {
  it("etcd-only: the machine's binaries, all copied; nothing missing", () => {
    const plan = planBinaries(new Set(['etcd', 'etcdctl']), new Map(), MACHINE, undefined);
    expect(plan.missing).toEqual([]);
    expect(Object.fromEntries(plan.copies)).toEqual(Object.fromEntries(MACHINE));
  });

  it('the given folder wins over the machine, and unknown files in it are not copied', () => {
    const given = new Map([...KUBERNETES, 'etcd', 'README'].map((b) => [b, `/k8s/${b}`]));
    const plan = planBinaries(new Set([...KUBERNETES, 'etcd', 'etcdctl', 'containerd', 'runc']), given, MACHINE, '/k8s');
    expect(plan.missing).toEqual([]);
    expect(plan.copies.get('etcd')).toBe('/k8s/etcd');
    expect(plan.copies.get('etcdctl')).toBe('/usr/bin/etcdctl');
    expect(plan.copies.get('kubelet')).toBe('/k8s/kubelet');
    expect(plan.copies.has('README')).toBe(false);
  });

  it('says where each missing binary comes from: a Debian package, or the Kubernetes folder (never a stand-in)', () => {
    const plan = planBinaries(new Set(['kubelet', 'runc']), new Map(), new Map(), undefined);
    expect(plan.missing).toEqual([
      'runc not found: apt-get install runc',
      expect.stringMatching(/^kubelet: masters and nodes need the Kubernetes binaries, from --binaries DIR/),
    ]);
    expect(planBinaries(new Set(['kubelet']), new Map(), MACHINE, '/k8s').missing).toEqual(['kubelet is not in /k8s']);
  });
});
