// End to end on the test bed: apiEndpointKind vip with real keepalived (Debian's package) on 3 masters
// (+etcd) and a node, on 198.18.43.0/24, each host in its own network namespace on the bridge `vip`.
// A VIP already held by a machine outside the cluster fails preflight; then deploy, exactly one master
// holds the VIP and kubectl reaches the API through it; a changed keepalived.conf is reloaded without
// moving it; the holder loses power and the VIP moves; the new holder's API server stops and it gives
// the VIP up; after recovery a re-run changes nothing.
// The failover transcript (who held the VIP when) is printed to the test output.
import { readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadInventory } from '../../../src/inventory/load.js';
import { generatePki } from '../../../src/pki/generate.js';
import { DEFAULT_API_SERVER_SHUTDOWN_DELAY_SECONDS } from '../../../src/inventory/model.js';
import { UNITS } from '../../../src/render/units.js';
import { run, startSetting, type BedHost, type Setting, HITLESS_ROLLS } from './fixtures.js';

const VIP = '198.18.43.100';
const MASTERS: BedHost[] = [1, 2, 3].map((n) => ({ name: `m${n}`, address: `198.18.43.${10 + n}`, roles: ['etcd', 'master'] }));
const NODE: BedHost = { name: 'n1', address: '198.18.43.21', roles: ['node'] };
/** On the network, not in the inventory: the machine that squats the VIP in the bad-input case. */
const OUTSIDER: BedHost = { name: 'x1', address: '198.18.43.31', roles: ['node'] };
/** What the issue asks of a failover (keepalived's own bound is 3 adverts of 1 s plus skew). */
const FAILOVER_LIMIT_MS = 10_000;
let s: Setting;

const transcript: string[] = [];
let t0 = 0;
const note = (line: string): void => void transcript.push(`${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s  ${line}`);

const kubectlReadyz = async (): Promise<string> =>
  (await run('kubectl', ['--kubeconfig', join(s.clusterDir, 'kubeconfigs/admin.conf'), '--request-timeout=5s', 'get', '--raw', '/readyz'])).stdout.trim();

/** What `address`:6443/readyz answers (anonymous, any certificate: only the status is asked), or why it did not. */
const readyzStatus = (address: string): Promise<number | string> =>
  new Promise((resolve) => {
    const req = request({ host: address, port: 6443, path: '/readyz', rejectUnauthorized: false, timeout: 3000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 3 s')));
    req.on('error', (err) => resolve(err.message));
    req.end();
  });

/** The hosts (of `names`) that hold the VIP now, by `ip addr` inside each. */
const holders = async (names: readonly string[]): Promise<string[]> => {
  const held = await Promise.all(names.map(async (n) => (await s.tb.hostExec(n, `ip -o addr show to ${VIP}`)).stdout.trim() !== ''));
  return names.filter((_, i) => held[i]);
};
const allHosts = (): string[] => [...MASTERS, NODE].map((h) => h.name);

/** Polls until exactly one of `names` holds the VIP, and it is not `not`; returns it and how long since `since`. */
const waitForHolder = async (names: readonly string[], since: number, not?: string): Promise<{ holder: string; ms: number }> => {
  for (;;) {
    const now = await holders(names);
    if (now.length === 1 && now[0] !== not) return { holder: now[0]!, ms: Date.now() - since };
    if (Date.now() - since > 3 * FAILOVER_LIMIT_MS)
      throw new Error(`no single new holder of ${VIP} among ${names.join(', ')} after ${Date.now() - since} ms: ${now}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

/** Polls until every unit a master runs is active on `host` (after a boot: etcd rejoins, the API server follows). */
const MASTER_UNITS = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'containerd', 'kubelet', 'kube-proxy', 'keepalived'];
const waitForUnits = async (host: string): Promise<void> => {
  const until = Date.now() + 90_000;
  for (;;) {
    const { stdout } = await s.tb.hostExec(host, `systemctl is-active ${MASTER_UNITS.join(' ')} || true`);
    if (
      stdout
        .trim()
        .split('\n')
        .every((l) => l === 'active')
    )
      return;
    if (Date.now() > until) throw new Error(`${host}: not all active after its boot: ${stdout.trim().replace(/\n/g, ' ')}`);
    await new Promise((r) => setTimeout(r, 500));
  }
};

/** kubectl through the VIP, retried for a few seconds while the runner's ARP entry catches up. */
const readyzThroughVip = async (): Promise<string> => {
  for (let i = 0; ; i++) {
    try {
      return await kubectlReadyz();
    } catch (err) {
      if (i >= 10) throw err;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
};

/** The setting's inventory, switched to the VIP, and certs run again (API server SANs, kubeconfig servers). */
const useVip = async (): Promise<void> => {
  const doc = yaml.load(await readFile(s.inventory, 'utf8')) as { cluster: Record<string, unknown> };
  doc.cluster.apiEndpoint = `${VIP}:6443`;
  doc.cluster.apiEndpointKind = 'vip';
  await writeFile(s.inventory, yaml.dump(doc));
  const { model } = await loadInventory(s.inventory);
  await generatePki(model, s.clusterDir);
};

beforeAll(async () => {
  s = await startSetting({ name: 'vip', subnet: '198.18.43.0/24' }, [...MASTERS, NODE], { bedOnly: [OUTSIDER], cluster: HITLESS_ROLLS });
  await useVip();
});
afterAll(async () => {
  if (transcript.length) console.log(`VIP ${VIP} failover transcript:\n${transcript.join('\n')}`);
  await s?.stop();
});

describe('apiEndpointKind vip: keepalived on 3 masters', () => {
  it('refuses a VIP that a machine outside the cluster already holds, naming the address, before changing anything', async () => {
    await s.tb.hostExec(OUTSIDER.name, `ip addr add ${VIP}/32 dev host0`);
    try {
      await expect(s.deploy()).rejects.toThrow(
        new RegExp(`\\[vip\\] the VIP ${VIP.replace(/\./g, '\\.')} \\(cluster.apiEndpoint\\) is already held by a machine`),
      );
      expect((await s.tb.hostExec('m1', 'test -e /etc/keepalived/keepalived.conf && echo present || echo absent')).stdout.trim()).toBe('absent');
    } finally {
      await s.tb.hostExec(OUTSIDER.name, `ip addr del ${VIP}/32 dev host0`);
    }
  });

  it('deploys: exactly one master holds the VIP, and kubectl reaches the API through it', async () => {
    const result = await s.deploy();
    for (const m of MASTERS) expect(result.summary.hosts.find((h) => h.name === m.name)?.restarted).toContain('keepalived.service');
    t0 = Date.now();
    const { holder } = await waitForHolder(allHosts(), t0);
    note(`${holder} holds ${VIP} after the deploy`);
    expect(await holders(allHosts())).toEqual([holder]);
    expect(await readyzThroughVip()).toBe('ok');
  });

  it('re-runs changing nothing, the VIP held by one of its own masters', async () => {
    const result = await s.deploy();
    expect([result.summary.filesUploaded, result.summary.servicesRestarted]).toEqual([0, 0]);
  });

  it('applies a changed keepalived.conf with a reload: the VIP stays with its holder', async () => {
    const [holder] = await holders(allHosts());
    await s.tb.hostExec(holder!, "echo '# changed behind our back' >> /etc/keepalived/keepalived.conf");
    const result = await s.deploy();
    const onHolder = result.summary.hosts.find((h) => h.name === holder);
    expect([onHolder?.restarted, onHolder?.reloaded]).toEqual([[], ['keepalived.service']]);
    expect([result.summary.filesUploaded, result.summary.servicesRestarted]).toEqual([1, 0]);
    expect(await holders(allHosts())).toEqual([holder]);
    note(`a changed keepalived.conf on ${holder}: re-uploaded, keepalived reloaded, ${holder} still holds ${VIP}`);
  });

  let survivors: string[] = [];
  let second = '';
  it(`moves the VIP within ${FAILOVER_LIMIT_MS / 1000} s when its holder loses power`, async () => {
    const [first] = await holders(allHosts());
    survivors = MASTERS.map((m) => m.name).filter((n) => n !== first);
    const killedAt = Date.now();
    process.kill(s.tb.hosts.find((h) => h.name === first)!.leaderPid, 'SIGKILL');
    note(`${first} loses power (kill -KILL of its init)`);
    const { holder, ms } = await waitForHolder(survivors, killedAt);
    second = holder;
    note(`${holder} holds ${VIP}, ${ms} ms after the power loss`);
    console.log(`VIP failover after a power loss: ${ms} ms (${first} -> ${holder})`);
    expect(ms).toBeLessThan(FAILOVER_LIMIT_MS);
    expect(await readyzThroughVip()).toBe('ok');
    note(`kubectl get --raw /readyz through ${VIP}: ok`);
  });

  it('gives the VIP up where the API server stops, the host still up, while that API server still serves (its shutdown delay)', async () => {
    const third = survivors.find((n) => n !== second)!;
    const stoppedAt = Date.now();
    // --no-block: the stop takes the API server's shutdown delay, within which the VIP must have moved.
    await s.tb.hostExec(second, `systemctl stop --no-block ${UNITS.apiserver}`);
    note(`kube-apiserver stopping on ${second}`);
    const { holder, ms } = await waitForHolder(survivors, stoppedAt, second);
    const stopping = await readyzStatus(MASTERS.find((m) => m.name === second)!.address);
    note(`${holder} holds ${VIP}, ${ms} ms after the API server on ${second} was told to stop; its /readyz then: ${stopping}`);
    console.log(`VIP handover after kube-apiserver got SIGTERM: ${ms} ms (${second} -> ${holder}); the stopping one's /readyz then: ${stopping}`);
    expect(holder).toBe(third);
    expect(ms).toBeLessThan(DEFAULT_API_SERVER_SHUTDOWN_DELAY_SECONDS * 1000);
    // Its listener still open: an answer, not ready (the real one answers 500, the stand-in 503), not a refused connection.
    expect(stopping).toBe(503);
    expect(await holders(survivors)).toEqual([third]);
    expect(await readyzThroughVip()).toBe('ok');
    // is-active says `deactivating` (exit 3) through the delay: wait for `inactive`, so the next test starts it afresh.
    await s.tb.hostExec(second, `timeout 60 sh -c 'until [ "$(systemctl is-active ${UNITS.apiserver})" = inactive ]; do sleep 0.5; done'`);
    note(`kube-apiserver stopped on ${second}`);
  });

  it('after recovery, a re-run changes nothing and the VIP stays where it is (nopreempt)', async () => {
    const [holder] = await holders(survivors);
    const down = MASTERS.map((m) => m.name).find((n) => !survivors.includes(n))!;
    await s.tb.hostExec(second, 'systemctl start kube-apiserver.service');
    await s.tb.startHost(down);
    note(`${down} boots again, kube-apiserver started again on ${second}`);
    await waitForUnits(down);
    const result = await s.deploy();
    expect([result.summary.filesUploaded, result.summary.servicesRestarted]).toEqual([0, 0]);
    expect(await holders(allHosts())).toEqual([holder]);
    note(`re-run: 0 files uploaded, 0 services restarted; ${holder} still holds ${VIP}`);
    expect(await readyzThroughVip()).toBe('ok');
  });
});
