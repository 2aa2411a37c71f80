// End to end on the test bed (198.18.56.0/24, bridge `kitb-renew`): 3 masters (+etcd), 2 nodes, and an external
// load balancer (HAProxy on a host outside the inventory, `apiEndpointKind: loadbalancer`) in front of the API servers.
// The PKI is issued as of 350 days ago (KUBEINSTALL_NOW, the PKI commands' test-only clock; the hosts keep theirs),
// so its leaves are due now. `verify-certs --remote` alerts; `certs renew` re-issues every leaf; `verify-certs --remote`
// reports the drift; deploy rolls exactly what changed while a probe GETs an object through the load balancer every
// 200 ms and etcd's health is polled; then the hosts serve the new certificates (openssl s_client from here) and
// `verify-certs --remote` passes. Last, a named renewal (one member's etcd-server, admin) rolls only that member's etcd.
// The probe figures are printed to the test output.
import { execFile } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseKubeconfig } from '../../../src/kubeconfig/kubeconfig.js';
import { kubeinstall } from '../kubeinstall.js';
import { startEndpointProbe } from './endpoint-probe.js';
import { startEtcdHealthPoll } from './etcd-health-poll.js';
import { startSetting, type BedHost, type Setting, HITLESS_ROLLS } from './fixtures.js';

const sh = promisify(execFile);
const MASTERS: BedHost[] = [1, 2, 3].map((n) => ({ name: `m${n}`, address: `198.18.56.${10 + n}`, roles: ['etcd', 'master'] }));
const NODES: BedHost[] = [1, 2].map((n) => ({ name: `n${n}`, address: `198.18.56.${20 + n}`, roles: ['node'] }));
/** Not in the inventory: the load balancer. */
const LB: BedHost = { name: 'lb', address: '198.18.56.10', roles: [] };
const ENDPOINT = `${LB.address}:6443`;
const ETCD_ENDPOINTS = MASTERS.map((m) => `https://${m.address}:2379`);

// What the docs ask of an operator's load balancer for hitless rolls (docs/operations.md, Renewal): readiness checks,
// and a connection refused by a restarting API server tried again on another one.
const HAPROXY_CFG = `global
  log stderr format short local0 notice
defaults
  mode tcp
  timeout connect 2s
  timeout client 1h
  timeout server 1h
  timeout check 2s
  retries 3
  option redispatch 1
frontend kube-api
  bind ${ENDPOINT}
  default_backend masters
backend masters
  balance roundrobin
  option httpchk GET /readyz
  http-check expect status 200
  default-server check check-ssl verify none inter 1s fall 2 rise 2
${MASTERS.map((m) => `  server ${m.name} ${m.address}:6443`).join('\n')}
`;

let s: Setting;
const cli = (args: readonly string[], env: Record<string, string> = {}) => kubeinstall([...args, '-i', s.inventory], env);

/** The serial (hex, as openssl prints it) and notAfter of what `host:port` serves, or of a local certificate file. */
const served = async (address: string, port: number, clientAuth: string[] = []): Promise<string> =>
  (
    await sh('sh', ['-c', `openssl s_client -connect ${address}:${port} ${clientAuth.join(' ')} </dev/null 2>/dev/null | openssl x509 -noout -serial -enddate`])
  ).stdout.trim();
/** openssl's arguments for a client certificate etcd accepts. */
const etcdClientAuth = (): string[] =>
  ['-cert', 'healthcheck-client.crt', '-key', 'healthcheck-client.key'].map((a) => (a.startsWith('-') ? a : join(s.clusterDir, 'pki/etcd', a)));
const onDisk = async (file: string): Promise<string> =>
  (await sh('openssl', ['x509', '-noout', '-serial', '-enddate', '-in', join(s.clusterDir, file)])).stdout.trim();

beforeAll(async () => {
  s = await startSetting({ name: 'renew', subnet: '198.18.56.0/24' }, [...MASTERS, ...NODES], {
    bedOnly: [LB],
    // ECDSA keys: issued in a fraction of RSA's time, which keeps this file short.
    cluster: { apiEndpointKind: 'loadbalancer', apiEndpoint: ENDPOINT, keyAlgorithm: 'ecdsa-p256', ...HITLESS_ROLLS },
  });
  await s.tb.hostExec(LB.name, 'cat > /etc/haproxy/haproxy.cfg && systemctl restart haproxy.service', { input: HAPROXY_CFG });
  // The cluster's PKI as if issued 350 days ago: its leaves (365 days) have 15 days left.
  for (const sub of ['pki', 'kubeconfigs']) await rm(join(s.clusterDir, sub), { recursive: true, force: true });
  const certs = cli(['certs'], { KUBEINSTALL_NOW: '-350d' });
  expect(certs.code, certs.err).toBe(0);
});
afterAll(async () => {
  await s?.stop();
});

describe('certificate renewal on 3 masters + 2 nodes behind a load balancer', () => {
  it('deploys; verify-certs --remote alerts on every leaf the hosts hold that expires within 30 days', async () => {
    await s.deploy();
    const r = cli(['verify-certs', '--remote', '--within', '30d']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^HOST +CERTIFICATE +EXPIRES +RESIDUAL TIME +CERTIFICATE AUTHORITY +STATUS$/m);
    expect(r.out).toMatch(/^m2 +apiserver +\w{3} \d\d, \d{4} \d\d:\d\d UTC +1[45]d +ca +expiring$/m);
    expect(r.out).toMatch(/^n1 +kubelet-client\/n1 +.* expiring$/m);
    expect(r.out).toMatch(/^m3 +etcd-ca +.* 9y +\/etc\/kubernetes\/pki\/etcd\/ca\.crt +ok$/m);
    expect(r.err).toMatch(/entries on the hosts need attention/);
  });

  it('certs renew re-issues every leaf due (not the CAs) and says what deploy restarts where; the hosts now differ', async () => {
    const r = cli(['certs', 'renew']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^re-issued apiserver: renewed: expires \S+, within 30 days$/m);
    expect(r.out).toMatch(/^re-issued etcd-peer\/m3: renewed/m);
    expect(r.out).toMatch(/^kept: ca, front-proxy-ca, etcd-ca$/m);
    const master = 'etcd.service, kube-apiserver.service, kube-controller-manager.service, kube-scheduler.service, kubelet.service, kube-proxy.service';
    for (const m of MASTERS) expect(r.out).toMatch(new RegExp(`^  ${m.name}: ${master} \\(\\d+ files\\)$`, 'm'));
    for (const n of NODES) expect(r.out).toMatch(new RegExp(`^  ${n.name}: kubelet.service, kube-proxy.service \\(4 files\\)$`, 'm'));
    const drift = cli(['verify-certs', '--remote']);
    expect(drift.code).toBe(1);
    expect(drift.out).toMatch(/^ {2}m1 apiserver: differs from the cluster folder's pki\/apiserver\.crt \(serial \w+ here, \w+ there\)$/m);
    expect(drift.out).toMatch(/^ {2}n2 kube-proxy: differs from the cluster folder's kubeconfigs\/kube-proxy\.conf/m);
    expect(drift.out).not.toMatch(/^ {2}\S+ (ca|etcd-ca|front-proxy-ca): differs/m);
  });

  let probe = { requests: 0, failures: 0, failureSamples: [] as readonly string[] };
  it('deploy rolls exactly the affected services, one etcd member and one master at a time; the probe and etcd see no outage', async () => {
    const admin = parseKubeconfig(await readFile(join(s.clusterDir, 'kubeconfigs/admin.conf'), 'utf8'));
    const probing = startEndpointProbe(`https://${ENDPOINT}/api/v1/nodes/n1`, admin, { intervalMs: 200 });
    const pki = (f: string) => join(s.clusterDir, 'pki/etcd', f);
    const etcd = startEtcdHealthPoll(
      ETCD_ENDPOINTS,
      () => ({ cacert: pki('ca.crt'), cert: pki('healthcheck-client.crt'), key: pki('healthcheck-client.key') }),
      500,
    );
    let result: Awaited<ReturnType<Setting['deploy']>>;
    try {
      result = await s.deploy();
    } finally {
      probe = await probing.stop();
      const health = await etcd.stop();
      const samples = probe.failureSamples.length ? ` (${probe.failureSamples.join('; ')})` : '';
      console.log(
        `renewal roll: probe ${probe.requests} requests, ${probe.failures} failures${samples}; ` +
          `etcd health polled ${health.polls} times, all 3 members healthy in ${health.allHealthy}, without quorum in ${health.noQuorum.length}`,
      );
      expect(health.noQuorum).toEqual([]);
    }
    expect(probe.failureSamples).toEqual([]);
    expect(probe.requests).toBeGreaterThan(50);
    const restarted = new Map(result.summary.hosts.map((h) => [h.name, [...h.restarted].sort()]));
    const masterUnits = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubelet', 'kube-proxy'].map((u) => `${u}.service`).sort();
    for (const m of MASTERS) expect(restarted.get(m.name), m.name).toEqual(masterUnits);
    for (const n of NODES) expect(restarted.get(n.name), n.name).toEqual(['kube-proxy.service', 'kubelet.service']);

    // One at a time: each master's start and wait of etcd, and of its control plane, end before the next master's begin.
    const log = (await readFile(result.logPath, 'utf8')).split('\n').flatMap((l) => {
      const m = /^(\S+) (\S+) \[((?:start|wait for) [^\]]*)\] exit=\d+ (\d+)ms /.exec(l);
      return m ? [{ host: m[2]!, step: m[3]!, end: Date.parse(m[1]!), start: Date.parse(m[1]!) - Number(m[4]) }] : [];
    });
    for (const units of [/etcd\.service/, /kube-(apiserver|controller-manager|scheduler)\.service/]) {
      const spans = MASTERS.map((m) => {
        const steps = log.filter((l) => l.host === m.name && units.test(l.step));
        expect(steps.length, `${m.name} ${units}`).toBeGreaterThan(0);
        return { host: m.name, start: Math.min(...steps.map((t) => t.start)), end: Math.max(...steps.map((t) => t.end)) };
      }).sort((a, b) => a.start - b.start);
      // The log has milliseconds: the next master's first command may start in the very millisecond the last one ended.
      for (let i = 1; i < spans.length; i++)
        expect(spans[i]!.start, `${units}: ${spans[i]!.host} after ${spans[i - 1]!.host}`).toBeGreaterThanOrEqual(spans[i - 1]!.end);
      // Each API server's stop takes its --shutdown-delay-duration: the roll's length is worth watching.
      console.log(`renewal roll of ${units.source}: ${((spans.at(-1)!.end - spans[0]!.start) / 1000).toFixed(1)} s`);
    }
    // Each master's API server takes its shutdown delay to stop: about 60 s unloaded, twice that on a busy machine.
  }, 180_000);

  it('every API server and etcd member serves its renewed certificate (openssl s_client from here)', async () => {
    const etcdClient = etcdClientAuth();
    const apiserver = await onDisk('pki/apiserver.crt');
    for (const m of MASTERS) {
      expect(await served(m.address, 6443), `${m.name}:6443`).toBe(apiserver);
      expect(await served(m.address, 2379, etcdClient), `${m.name}:2379`).toBe(await onDisk(`pki/etcd/members/${m.name}/server.crt`));
      expect(await served(m.address, 2380, etcdClient), `${m.name}:2380`).toBe(await onDisk(`pki/etcd/members/${m.name}/peer.crt`));
    }
    expect(apiserver).toMatch(new RegExp(`notAfter=\\w{3} +\\d+ [\\d:]+ ${new Date().getUTCFullYear() + 1} GMT`));
  });

  it('verify-certs --remote then finds every host in line with the cluster folder', () => {
    const r = cli(['verify-certs', '--remote']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).not.toMatch(/problems:|expiring|invalid/);
  });

  it("a named renewal rolls only what uses it: one member's etcd; the admin kubeconfig is uploaded, restarting nothing", async () => {
    const r = cli(['certs', 'renew', 'etcd-server/m2', 'admin']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^re-issued etcd-server\/m2: renewed \(named\)$/m);
    expect(r.out).toMatch(/^0 created, \d+ kept, 2 re-issued;/m);
    expect(r.out).toMatch(/^ {2}m2: etcd\.service \(3 files\)$/m);
    expect(r.out).toMatch(/^ {2}m1: nothing \(1 file\)$/m);
    const result = await s.deploy();
    expect(result.summary.hosts.map((h) => [h.name, h.uploaded, h.restarted])).toEqual([
      ['m1', 1, []],
      ['m2', 3, ['etcd.service']],
      ['m3', 1, []],
      ['n1', 0, []],
      ['n2', 0, []],
    ]);
    expect(await served(MASTERS[1]!.address, 2379, etcdClientAuth())).toBe(await onDisk('pki/etcd/members/m2/server.crt'));
  });
});
