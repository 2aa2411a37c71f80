import { describe, expect, it } from 'vitest';
import { startUnitsCommand, unitsToStart } from './services.js';

describe('services', () => {
  it('starts only units that are pending a restart or not running', () => {
    const status = new Map([
      ['etcd.service', { state: 'active', pending: false }],
      ['kubelet.service', { state: 'active', pending: true }],
      ['kube-proxy.service', { state: 'failed', pending: false }],
      ['containerd.service', { state: 'inactive', pending: false }],
    ]);
    expect(unitsToStart([...status.keys()], status)).toEqual(['kubelet.service', 'kube-proxy.service', 'containerd.service']);
  });

  it('clears the pending markers only after the restart was issued', () => {
    const cmd = startUnitsCommand(['etcd.service']);
    expect(cmd.indexOf('systemctl restart --no-block etcd.service')).toBeLessThan(cmd.indexOf('rm -f /var/lib/kubeinstall/pending-restart/etcd.service'));
    expect(cmd.startsWith('systemctl daemon-reload && ')).toBe(true);
  });
});
