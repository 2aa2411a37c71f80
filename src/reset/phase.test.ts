import { describe, expect, it } from 'vitest';
import { HASH_RECORD } from '../deploy/file-diff.js';
import { hostPlan, testContext } from '../deploy/testing/cluster.js';
import { fakeExecutor, type Rule } from '../deploy/testing/fake-executor.js';
import { resetHosts } from './phase.js';

const OPTS = { purgeData: false, etcdAside: '/var/lib/etcd.reset-20261201T060000Z' };
const n1 = hostPlan('n1');
const recordLine = (path: string): string => `${'a'.repeat(64)} 10 1700000000 ${path}`;

/** A node as deploy left it: every planned file there, its units running, a KUBE- chain. */
const deployedNode: Rule[] = [
  { command: new RegExp(`^cat ${HASH_RECORD}`), reply: { stdout: n1.files.map((f) => recordLine(f.path)).join('\n') } },
  { command: /^systemctl is-active kubepods\.slice/, reply: { stdout: 'inactive\n' } },
  { command: /^for u in /, reply: { stdout: n1.services.map((s) => `${s.unit} loaded active \n`).join('') } },
  {
    command: /command -v iptables-save/,
    reply: { stdout: '### iptables-save\n*filter\n:FORWARD ACCEPT [0:0]\n:KUBE-FORWARD - [0:0]\n-A FORWARD -j KUBE-FORWARD\nCOMMIT\n' },
  },
  { command: /^ip -o -4 route show/, reply: { stdout: '' } },
  { command: /^cat \/proc\/self\/mounts/, reply: { stdout: '' } },
  { command: /^for p in .*\/usr\/local\/bin\/kubelet/, reply: { stdout: n1.files.map((f) => f.path).join('\n') } },
  { command: /^for d in /, reply: { stdout: '' } },
  { command: /^for p in \/var\/lib\/kubelet /, reply: { stdout: '/var/lib/kubelet\n' } },
  { command: /^for p in \/var\/lib\/kubeinstall;/, reply: { stdout: '/var/lib/kubeinstall\n' } },
];

describe('resetHosts (the per-host reset another command calls)', () => {
  it('in a dry run only reads, and describes what would go', async () => {
    const fake = fakeExecutor({ exec: deployedNode });
    const { ctx, dryRunLines } = testContext(fake, { dryRun: true });
    const done = await resetHosts(ctx, [n1.host], OPTS);
    expect(fake.unexpected).toEqual([]);
    expect(fake.execs().map((c) => c.opts.step)).toEqual([
      'read the record',
      ...[
        'stop units',
        'stop pods',
        'remove iptables chains',
        'remove pod routes',
        'unmount',
        'remove files',
        'remove empty folders',
        'remove service state',
        'remove kubeinstall state',
      ].map((t) => `${t}: inspect`),
    ]);
    expect(dryRunLines).toEqual([
      'n1: would stop and disable containerd.service, kubelet.service, kube-proxy.service, kube-lb.service, kubeinstall-pod-routes.service',
      'n1: would remove the chains iptables filter: KUBE-FORWARD',
      `n1: would remove ${n1.files.map((f) => f.path).join(', ')}`,
      'n1: would remove /var/lib/kubelet',
      'n1: would remove /var/lib/kubeinstall',
    ]);
    expect(done.get('n1')).toContain('etcd data: nothing here');
  });

  it('stops the units before it removes files, and the record (kubeinstall state) last', async () => {
    const fake = fakeExecutor({ exec: [...deployedNode, { command: /^(systemctl disable|printf|rm )/, reply: {} }] });
    const { ctx } = testContext(fake);
    await resetHosts(ctx, [n1.host], OPTS);
    expect(fake.unexpected).toEqual([]);
    const changes = fake.execs().filter((c) => !/inspect$|^read the record$/.test(c.opts.step));
    expect(changes.map((c) => c.opts.step)).toEqual([
      'stop units',
      'remove iptables chains',
      'remove files',
      'remove service state',
      'remove kubeinstall state',
    ]);
    expect(changes.at(-1)?.command).toBe('rm -rf -- /var/lib/kubeinstall');
  });

  it('names the host and the step that failed', async () => {
    const fake = fakeExecutor({ exec: [...deployedNode, { command: /^systemctl disable/, reply: { code: 1, stderr: 'Failed to disable unit' } }] });
    const { ctx } = testContext(fake);
    await expect(resetHosts(ctx, [n1.host], OPTS)).rejects.toThrow(/^n1: stop units failed \(exit 1\): [\s\S]*Failed to disable unit/);
  });
});
