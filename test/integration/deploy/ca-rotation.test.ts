// End to end on the test bed (198.18.58.0/24, bridge `kitb-rotate`): `certs rotate-ca` of the Kubernetes and the etcd CAs
// (and the service-account key) on 3 masters (+etcd) and 2 nodes behind a load balancer (HAProxy with our kube-lb config on
// a host outside the inventory, `apiEndpointKind: loadbalancer`). Through all three steps a probe GETs an object through
// the load balancer every 200 ms with the credentials admin.conf holds at that moment, and etcd's health is polled with
// the cluster folder's etcd client certificate; step 2 is interrupted (Ctrl-C) after its deploy restarted the first etcd
// member and resumed by a plain re-run. Afterwards the hosts serve certificates of the new CAs only, and the old CAs'
// client certificates are refused by the API servers and by etcd. The probe figures are printed to the test output.
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpsRequest } from '../../../src/deploy/api-client.js';
import { parseKubeconfig, type KubeconfigContent } from '../../../src/kubeconfig/kubeconfig.js';
import { ROTATION_STATE_FILE, rotationCaFiles } from '../../../src/pki/rotation.js';
import { etcdPki, pki } from '../../../src/render/paths.js';
import { renderAsset } from '../../../src/render/template.js';
import { kubeinstall, startKubeinstall } from '../kubeinstall.js';
import { startEndpointProbe, type ProbeReport } from './endpoint-probe.js';
import { startEtcdHealthPoll } from './etcd-health-poll.js';
import { run, startSetting, TESTBED_DEPLOY_FLAGS, type BedHost, type Setting, HITLESS_ROLLS } from './fixtures.js';

const MASTERS: BedHost[] = [1, 2, 3].map((n) => ({ name: `m${n}`, address: `198.18.58.${10 + n}`, roles: ['etcd', 'master'] }));
const NODES: BedHost[] = [1, 2].map((n) => ({ name: `n${n}`, address: `198.18.58.${20 + n}`, roles: ['node'] }));
/** Not in the inventory: the load balancer. */
const LB: BedHost = { name: 'lb', address: '198.18.58.10', roles: [] };
const ENDPOINT = `${LB.address}:6443`;
const ETCD_ENDPOINTS = MASTERS.map((m) => `https://${m.address}:2379`);
const PROBED = `https://${ENDPOINT}/api/v1/nodes/n1`;
const M1 = MASTERS[0]!;

/** The cluster folder's files this test reads, and the copies of the old CA's kept before the rotation. */
const FOLDER = {
  ca: 'pki/ca.crt',
  etcdCa: 'pki/etcd/ca.crt',
  etcdHealthCrt: 'pki/etcd/healthcheck-client.crt',
  etcdHealthKey: 'pki/etcd/healthcheck-client.key',
  apiserverEtcdCrt: 'pki/apiserver-etcd-client.crt',
  apiserverEtcdKey: 'pki/apiserver-etcd-client.key',
  saPub: 'pki/sa.pub',
  frontProxyCa: 'pki/front-proxy-ca.crt',
  admin: 'kubeconfigs/admin.conf',
  // The rotation's own: the CA beside the signer while a rotation runs, and its state.
  rotationEtcdCa: rotationCaFiles('etcd-ca').crt,
  rotationState: ROTATION_STATE_FILE,
} as const;
const OLD = ['ca', 'etcdCa', 'apiserverEtcdCrt', 'apiserverEtcdKey', 'saPub', 'frontProxyCa'] as const;

let s: Setting;
const cli = (args: readonly string[]) => kubeinstall([...args, '-i', s.inventory]);
const inFolder = (file: string): string => join(s.clusterDir, file);
const oldCopy = (name: (typeof OLD)[number] | 'admin'): string => join(s.dir, 'old', name);
let oldAdmin: KubeconfigContent;

const rotate = (args: readonly string[] = []) => startKubeinstall(['certs', 'rotate-ca', '-i', s.inventory, ...args, ...TESTBED_DEPLOY_FLAGS]);

/** Resolves once `text()` matches `pattern`; rejects when the run ends first or after `timeoutMs`. */
const waitFor = async (text: () => string, pattern: RegExp, ended: () => boolean, timeoutMs: number): Promise<void> => {
  for (const deadline = Date.now() + timeoutMs; !pattern.test(text()); ) {
    if (ended() || Date.now() > deadline) throw new Error(`never saw ${pattern}${ended() ? ' (the run ended)' : ''}:\n${text().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

/** `openssl s_client` to a host's port, the server verified against `caFile` (and a client certificate for etcd). */
const verifyServed = (address: string, port: number, caFile: string, clientAuth: readonly string[] = []) => {
  const r = spawnSync('openssl', ['s_client', '-connect', `${address}:${port}`, '-CAfile', caFile, '-verify_return_error', ...clientAuth], {
    input: '',
    encoding: 'utf8',
    timeout: 10_000,
  });
  return { code: r.status, verify: /Verify return code: (\d+ \([^)]*\))/.exec(r.stdout)?.[1] ?? r.stderr.trim().split('\n').slice(-1)[0] };
};
const etcdClientAuth = (): string[] => ['-cert', inFolder(FOLDER.etcdHealthCrt), '-key', inFolder(FOLDER.etcdHealthKey)];

/** etcdctl `get` against m1 with a client certificate, the server checked against `cacert`. */
const etcdGet = (cacert: string, cert: string, key: string) =>
  run(
    'etcdctl',
    [`--endpoints=${ETCD_ENDPOINTS[0]}`, `--cacert=${cacert}`, `--cert=${cert}`, `--key=${key}`, '--dial-timeout=3s', '--command-timeout=5s', 'get', 'health'],
    { env: { ...process.env, ETCDCTL_API: '3' } },
  );

beforeAll(async () => {
  s = await startSetting({ name: 'rotate', subnet: '198.18.58.0/24' }, [...MASTERS, ...NODES], {
    bedOnly: [LB],
    // ECDSA keys: issued in a fraction of RSA's time; a rotation issues every leaf once more.
    cluster: { apiEndpointKind: 'loadbalancer', apiEndpoint: ENDPOINT, keyAlgorithm: 'ecdsa-p256', ...HITLESS_ROLLS },
  });
  const config = renderAsset('config/kube-lb.cfg', {
    bind: ENDPOINT,
    socket: '/run/haproxy/admin.sock',
    servers: MASTERS.map((m) => `    server ${m.name} ${m.address}:6443`).join('\n'),
  });
  await s.tb.hostExec(LB.name, 'cat > /etc/haproxy/haproxy.cfg && systemctl restart haproxy.service', { input: config });
});
afterAll(async () => {
  await s?.stop();
});

describe('CA rotation (kubernetes, etcd, service account) on 3 masters + 2 nodes behind a load balancer', () => {
  it('refuses an unknown --ca naming it; --status before any rotation says none is in progress', () => {
    const bogus = cli(['certs', 'rotate-ca', '--ca', 'bogus']);
    expect(bogus.code).toBe(2);
    expect(bogus.err).toMatch(/--ca: unknown CA "bogus"/);
    expect(existsSync(inFolder(FOLDER.rotationState))).toBe(false);
    const status = cli(['certs', 'rotate-ca', '--status']);
    expect(status.code, status.err).toBe(0);
    expect(status.out.trim()).toBe('no CA rotation in progress');
  });

  it('deploys; the old CAs, the admin credentials and the API server etcd client certificate are kept aside', async () => {
    await s.deploy();
    await mkdir(join(s.dir, 'old'));
    for (const name of OLD) await copyFile(inFolder(FOLDER[name]), oldCopy(name));
    await copyFile(inFolder(FOLDER.admin), oldCopy('admin'));
    oldAdmin = parseKubeconfig(await readFile(oldCopy('admin'), 'utf8'));
  });

  let probe: ProbeReport = { requests: 0, failures: 0, failureSamples: [] };
  it('rotate-ca --ca kubernetes,etcd --rotate-sa: Ctrl-C in step 2 exits 130 and keeps the state; a different --ca and ' +
    'certs --force-ca are refused meanwhile; a plain re-run resumes step 2 and finishes; the probe and etcd see no outage', async () => {
    // As an operator's kubectl re-reads admin.conf, and an etcdctl trusts the CA bundle the cluster folder holds: the
    // signer and the CA beside it; the old CA too, so a poll between the writes of a step's files sees both.
    const admin = () => parseKubeconfig(readFileSync(inFolder(FOLDER.admin), 'utf8'));
    const bundle = join(s.dir, 'etcd-trust.pem');
    const etcdFiles = async () => {
      const beside = existsSync(inFolder(FOLDER.rotationEtcdCa)) ? [await readFile(inFolder(FOLDER.rotationEtcdCa), 'utf8')] : [];
      const cas = [await readFile(oldCopy('etcdCa'), 'utf8'), await readFile(inFolder(FOLDER.etcdCa), 'utf8'), ...beside];
      await writeFile(bundle, cas.map((c) => c.trim()).join('\n'));
      return { cacert: bundle, cert: inFolder(FOLDER.etcdHealthCrt), key: inFolder(FOLDER.etcdHealthKey) };
    };
    const probing = startEndpointProbe(PROBED, admin, { intervalMs: 200 });
    const etcd = startEtcdHealthPoll(ETCD_ENDPOINTS, etcdFiles, 500);
    const started = Date.now();
    try {
      const first = rotate(['--ca', 'kubernetes,etcd', '--rotate-sa']);
      let text = '';
      let ended = false;
      first.child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
      first.child.stderr!.on('data', (d: Buffer) => (text += d.toString()));
      void first.done.finally(() => (ended = true));
      // Ctrl-C as step 2's deploy starts its first etcd member's restart.
      await waitFor(
        () => text,
        /^step 2 of 3 \(.*\): rolling out$[\s\S]*\[etcd\] m\d: start etcd/m,
        () => ended,
        240_000,
      );
      first.child.kill('SIGINT');
      const stopped = await first.done;
      expect(stopped.code, stopped.out + stopped.err).toBe(130);
      expect(stopped.out).toMatch(/^step 1 of 3 .*: rolling out$[\s\S]*^step 1 of 3 .* rolled out in [0-9.]+ s: [\s\S]*^step 2 of 3 .*: rolling out$/m);
      expect(stopped.out).not.toMatch(/step 3 of 3/);
      // Stopped midway through step 2's roll: one etcd member restarted, the next one's restart not begun. (What each member
      // serves says nothing here: etcd reads its certificate files at every handshake, so the upload alone switched them.)
      expect(stopped.out + stopped.err).toMatch(/^✔ \[etcd\] m\d: start etcd: restarted etcd\.service/m);
      expect(stopped.out + stopped.err).toMatch(/^✖ \[etcd\] m\d: start etcd \[FAILED: interrupted/m);

      const state = JSON.parse(await readFile(inFolder(FOLDER.rotationState), 'utf8'));
      expect(state).toMatchObject({ cas: ['ca', 'etcd-ca'], serviceAccount: true, step: 2, rolled: false });
      const status = cli(['certs', 'rotate-ca', '--status']);
      expect(status.code, status.err).toBe(0);
      expect(status.out).toMatch(/^step 2 of 3 \(re-issue every certificate with the new CAs\): not yet rolled out$/m);
      const other = cli(['certs', 'rotate-ca', '--ca', 'etcd']);
      expect(other.code).toBe(2);
      expect(other.err).toMatch(/a rotation of kubernetes, etcd and the service-account key is in progress .*without --ca \(or with the same\)/);
      // without --yes: refused before the confirmation, naming the rotation
      const force = cli(['certs', '--force-ca']);
      expect(force.code).toBe(2);
      expect(force.err).toMatch(/a CA rotation is in progress \(.*state\.json, step 2 of 3\)/);
      expect(JSON.parse(await readFile(inFolder(FOLDER.rotationState), 'utf8')), 'the refusals left the state as it was').toEqual(state);

      const resumed = await rotate().done;
      expect(resumed.code, resumed.out + resumed.err).toBe(0);
      expect(resumed.out).not.toMatch(/step 1 of 3/);
      expect(resumed.out).toMatch(/^resuming the rotation of kubernetes, etcd and the service-account key at step 2 of 3 /m);
      expect(resumed.out).toMatch(/^step 2 of 3 .*: rolling out$[\s\S]*^step 3 of 3 .*: rolling out$[\s\S]*^CA rotation of .* finished: /m);
      const rolls = [...`${stopped.out}${resumed.out}`.matchAll(/^step (\d) of 3 .* rolled out in ([0-9.]+ s)/gm)];
      console.log(`step roll times: ${rolls.map((m) => `${m[1]}: ${m[2]}`).join(', ')}`);
    } finally {
      probe = await probing.stop();
      const health = await etcd.stop();
      const samples = probe.failureSamples.length ? ` (${probe.failureSamples.join('; ')})` : '';
      console.log(
        `CA rotation (interrupted in step 2, resumed) in ${((Date.now() - started) / 1000).toFixed(1)} s: probe ${probe.requests} requests, ` +
          `${probe.failures} failures${samples}; etcd health polled ${health.polls} times, all 3 members healthy in ${health.allHealthy}, ` +
          `without quorum in ${health.noQuorum.length}`,
      );
      expect(health.noQuorum).toEqual([]);
    }
    expect(probe.failureSamples).toEqual([]);
    expect(probe.failures).toBe(0);
    expect(probe.requests).toBeGreaterThan(100);
  }, 600_000);

  it("the rotation is over, its state gone; the rotated CAs and the sa key are new (front-proxy's kept); every host trusts only them", async () => {
    const status = cli(['certs', 'rotate-ca', '--status']);
    expect(status.code, status.err).toBe(0);
    expect(status.out.trim()).toBe('no CA rotation in progress');
    expect(existsSync(inFolder(FOLDER.rotationState))).toBe(false);
    const now = Object.fromEntries(await Promise.all(OLD.map(async (n) => [n, await readFile(inFolder(FOLDER[n]), 'utf8')] as const)));
    for (const name of ['ca', 'etcdCa', 'saPub'] as const) expect(now[name], name).not.toBe(await readFile(oldCopy(name), 'utf8'));
    expect(now.frontProxyCa, 'the front-proxy CA (not asked for)').toBe(await readFile(oldCopy('frontProxyCa'), 'utf8'));
    for (const name of ['ca', 'etcdCa'] as const) expect(now[name]!.match(/BEGIN CERTIFICATE/g), `${name}: one CA`).toHaveLength(1);
    expect(now.saPub!.match(/BEGIN PUBLIC KEY/g), 'sa.pub: one key').toHaveLength(1);
    expect(parseKubeconfig(await readFile(inFolder(FOLDER.admin), 'utf8')).caPem.trim()).toBe(now.ca!.trim());
    // The hosts' trust files: the new CA alone.
    for (const h of [...MASTERS, ...NODES]) expect((await s.tb.hostExec(h.name, `cat ${pki('ca.crt')}`)).stdout.trim(), h.name).toBe(now.ca!.trim());
    for (const m of MASTERS) {
      const { stdout } = await s.tb.hostExec(m.name, `cat ${etcdPki('ca.crt')} ${pki('sa.pub')}`);
      expect(stdout.trim(), m.name).toBe(`${now.etcdCa!.trim()}\n${now.saPub!.trim()}`);
    }
  });

  it('the API servers and etcd serve certificates of the new CAs: verified against the new CA files, not against the old ones', () => {
    for (const m of MASTERS) {
      expect(verifyServed(m.address, 6443, inFolder(FOLDER.ca)), `${m.name}:6443`).toEqual({ code: 0, verify: '0 (ok)' });
      expect(verifyServed(m.address, 2379, inFolder(FOLDER.etcdCa), etcdClientAuth()), `${m.name}:2379`).toEqual({ code: 0, verify: '0 (ok)' });
    }
    // What openssl says of a chain whose CA is not in the file (19: the API servers send theirs along; 20: etcd does not).
    const untrusted = { code: 1, verify: expect.stringMatching(/^(19|20) \(/) };
    expect(verifyServed(M1.address, 6443, oldCopy('ca'))).toMatchObject(untrusted);
    expect(verifyServed(M1.address, 2379, oldCopy('etcdCa'), etcdClientAuth())).toMatchObject(untrusted);
  });

  it("the old CA's admin certificate is refused through the load balancer; the new admin.conf works (kubectl get nodes)", async () => {
    const ca = await readFile(inFolder(FOLDER.ca), 'utf8');
    const refused = await httpsRequest(PROBED, { ...oldAdmin, caPem: ca }).then(
      (r) => `HTTP ${r.status}`,
      (err: Error) => `refused: ${err.message}`,
    );
    // The real kube-apiserver answers 401 to a certificate of a CA it does not trust; the stand-in fails the handshake.
    expect(refused).toMatch(/^(HTTP 401|refused: .*alert unknown ca)/);
    const admin = parseKubeconfig(await readFile(inFolder(FOLDER.admin), 'utf8'));
    expect((await httpsRequest(PROBED, admin)).status).toBe(200);
    const { stdout } = await run('kubectl', ['--kubeconfig', inFolder(FOLDER.admin), 'get', 'nodes', '-o', 'name']);
    expect(stdout.trim().split('\n').sort()).toEqual([...MASTERS, ...NODES].map((h) => `node/${h.name}`).sort());
  });

  it("etcd refuses the old CA's API server client certificate, and takes the new one", async () => {
    const ca = inFolder(FOLDER.etcdCa);
    // etcd's client gives up on a handshake etcd fails ("unknown ca" alert) when its deadline passes.
    await expect(etcdGet(ca, oldCopy('apiserverEtcdCrt'), oldCopy('apiserverEtcdKey'))).rejects.toThrow(/context deadline exceeded/);
    await etcdGet(ca, inFolder(FOLDER.apiserverEtcdCrt), inFolder(FOLDER.apiserverEtcdKey));
  });

  it('verify-certs --remote finds every host in line with the cluster folder', () => {
    const r = cli(['verify-certs', '--remote']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).not.toMatch(/problems:|expiring|invalid/);
  });
});
