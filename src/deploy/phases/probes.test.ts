import { describe, expect, it } from 'vitest';
import { runPhases } from '../manager.js';
import { factsRules, testContext, nodeServicesPhase as nodeServices } from '../testing/cluster.js';
import { fakeExecutor } from '../testing/fake-executor.js';
import { factsPhase } from './facts.js';

const WAIT = /^deadline=/;
const RUNNING = {
  'containerd.service': 'active',
  'kubelet.service': 'active',
  'kube-proxy.service': 'active',
  'kube-lb.service': 'active',
  'kubeinstall-pod-routes.service': 'active',
};

describe('health probes of what listens on 127.0.0.1', () => {
  it("run on the host over SSH, all of a host's services in one command", async () => {
    const fake = fakeExecutor({
      exec: [
        ...factsRules({ n1: { units: { ...RUNNING, 'kubelet.service': 'inactive' } } }),
        { command: /systemctl restart --no-block/, reply: {} },
        { command: WAIT, reply: {} },
      ],
    });
    const { ctx } = testContext(fake, { hosts: new Set(['n1']) });
    await runPhases([factsPhase, nodeServices], ctx, 'lines');
    expect(fake.unexpected).toEqual([]);
    const waits = fake.execs('n1').filter((c) => WAIT.test(c.command));
    // containerd ran untouched (it is waited for, on its socket, only when it starts: src/deploy/images.ts)
    expect(waits).toHaveLength(1);
    expect(waits[0]!.command).toContain('"url":"http://127.0.0.1:10248/healthz"');
    expect(waits[0]!.command).toContain('"url":"http://127.0.0.1:10256/healthz"');
    // node-local (3 masters): the node's load balancer, through which the kubelet reaches the API, checked as the kubelet will use it.
    expect(waits[0]!.command).toContain('"url":"https://127.0.0.1:6443/readyz","ca":"/etc/kubernetes/pki/ca.crt"');
    expect(waits[0]!.command).toMatch(/for unit in kubelet\.service kube-proxy\.service kube-lb\.service kubeinstall-pod-routes\.service; do/);
  });

  it('blame the unit whose URL did not answer, with its journal', async () => {
    const fake = fakeExecutor({
      exec: [
        ...factsRules({ n1: { units: { ...RUNNING, 'kube-proxy.service': 'inactive' } } }),
        { command: /systemctl restart --no-block/, reply: {} },
        { command: WAIT, reply: { code: 1, stderr: 'not healthy after 60 s (state: active) http://127.0.0.1:10256/healthz: [Errno 111] Connection refused' } },
        { command: /^journalctl -u kube-proxy\.service/, reply: { stdout: 'listening on 127.0.0.1:10256' } },
      ],
    });
    const { ctx } = testContext(fake, { hosts: new Set(['n1']) });
    const err = await runPhases([factsPhase, nodeServices], ctx, 'lines').catch((e: unknown) => e);
    expect(String(err)).toMatch(
      /kube-proxy\.service on n1 is not healthy: .*10256\/healthz: \[Errno 111\] Connection refused[\s\S]*listening on 127\.0\.0\.1:10256/,
    );
  });
});
