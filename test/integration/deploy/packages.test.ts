// End to end on the test bed (198.18.44.0/24, bridge `pkgs`): 2 masters (+etcd) and a node, node-local.
// OS packages: an offline site points its hosts at a local mirror, so this test makes one on this machine
// (`apt-get download` + `dpkg-scanpackages`) and serves it from the runner's bridge address only; the node
// lacks HAProxy (purged from the image) and every host lacks iptables, conntrack and socat. With
// installPackages false preflight names the host and package and nothing is uploaded; with true prepare
// installs them from that mirror, or names what the mirror lacks. Then an external load balancer (HAProxy on a host outside the inventory,
// set up by hand): the nodes reach the API through it, and a dead endpoint fails the nodes phase naming them.
import { execFile } from 'node:child_process';
import { readdir, readFile, rm, mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PhaseFailed } from '../../../src/deploy/manager.js';
import { PACKAGE_NEEDS } from '../../../src/deploy/packages.js';
import type { PhaseName } from '../../../src/deploy/types.js';
import { loadInventory } from '../../../src/inventory/load.js';
import { generatePki } from '../../../src/pki/generate.js';
import { kubeinstall } from '../kubeinstall.js';
import { run, startSetting, TESTBED_IGNORED_CHECKS, type BedHost, type Setting } from './fixtures.js';

const sh = promisify(execFile);

const M1: BedHost = { name: 'm1', address: '198.18.44.2', roles: ['etcd', 'master'] };
const M2: BedHost = { name: 'm2', address: '198.18.44.3', roles: ['etcd', 'master'] };
const N1: BedHost = { name: 'n1', address: '198.18.44.4', roles: ['node'] };
/** Not in the inventory: the external load balancer. */
const LB: BedHost = { name: 'lb', address: '198.18.44.10', roles: [] };
const HOSTS = [M1, M2, N1];
/** Where a deploy leaves anything on a host (as preflight.test.ts); a failed preflight must leave none of it. */
const DEPLOY_PATHS = '/etc/kubernetes /etc/etcd /etc/containerd /etc/systemd/system/etcd.service /var/lib/kubeinstall';

let s: Setting;
let mirror: { server: Server; dir: string; url: string; log: string[]; add(packages: readonly string[]): Promise<void> };
const editInventory = async (edit: (inv: Record<string, any>) => void): Promise<void> => {
  const inv = yaml.load(await readFile(s.inventory, 'utf8')) as Record<string, any>;
  edit(inv);
  await writeFile(s.inventory, yaml.dump(inv));
  await generatePki((await loadInventory(s.inventory)).model, s.clusterDir);
};

const nodeLocal = (installPackages: boolean): Promise<void> =>
  editInventory((inv) => {
    inv.cluster.apiEndpointKind = 'node-local';
    delete inv.cluster.apiEndpoint;
    inv.cluster.installPackages = installPackages;
  });

const installed = async (host: string): Promise<Set<string>> => {
  const { stdout } = await s.tb.hostExec(host, "dpkg-query -W -f '${db:Status-Abbrev} ${Package}\\n'");
  return new Set(
    stdout
      .split('\n')
      .filter((l) => l.startsWith('ii '))
      .map((l) => l.split(' ').pop()!),
  );
};

/** The .debs a host set lacks for these packages: their dependency closure here (alternatives included, so a few more than apt
 * picks), less what each host has (the union). */
const missingDebs = async (packages: readonly string[], hosts: readonly string[]): Promise<string[]> => {
  const { stdout } = await sh('apt-cache', [
    'depends',
    '--recurse',
    '--no-recommends',
    '--no-suggests',
    '--no-conflicts',
    '--no-breaks',
    '--no-replaces',
    '--no-enhances',
    ...packages,
  ]);
  const closure = new Set(stdout.split('\n').filter((l) => /^[a-z0-9]/.test(l)));
  const missing = new Set<string>();
  for (const h of hosts) {
    const has = await installed(h);
    for (const p of closure) if (!has.has(p)) missing.add(p);
  }
  return [...missing].sort();
};

/** A flat apt repository of these packages, served over HTTP on the runner's bridge address only; every request logged. */
const startMirror = async (packages: readonly string[]): Promise<typeof mirror> => {
  const dir = await mkdtemp(join(tmpdir(), 'kubeinstall-apt-mirror-'));
  const files = new Set<string>();
  const add = async (more: readonly string[]): Promise<void> => {
    await sh('apt-get', ['download', ...more], { cwd: dir });
    const { stdout } = await sh('dpkg-scanpackages', ['--multiversion', '.', '/dev/null'], { cwd: dir });
    await writeFile(join(dir, 'Packages'), stdout);
    for (const f of await readdir(dir)) files.add(f);
  };
  await add(packages);
  const log: string[] = [];
  const server = createServer((req, res) => {
    const name = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\/(\.\/)?/, '');
    const ok = files.has(name) && !name.includes('/');
    log.push(`${req.socket.remoteAddress} ${req.method} /${name} ${ok ? 200 : 404}`);
    if (!ok) return void res.writeHead(404).end();
    void readFile(join(dir, name)).then((data) => res.writeHead(200, { 'Content-Length': data.length }).end(data));
  });
  const gateway = s.tb.network!.gateway;
  await new Promise<void>((resolve) => server.listen(0, gateway, resolve));
  const { port } = server.address() as { port: number };
  return { server, dir, url: `http://${gateway}:${port}/`, log, add };
};

const onlyPhases = (...names: PhaseName[]): Set<PhaseName> => new Set(names);
const sources = (url: string): string => `deb [trusted=yes] ${url} ./`;

beforeAll(async () => {
  s = await startSetting({ name: 'pkgs', subnet: '198.18.44.0/24' }, HOSTS, { bedOnly: [LB] });
  // The base image has HAProxy: purging it makes n1 a host that lacks it.
  await s.tb.hostExec(N1.name, 'dpkg --purge haproxy');
  expect(await installed(N1.name)).not.toContain('haproxy');
  const debs = await missingDebs(
    PACKAGE_NEEDS.map((n) => n.packages.apt),
    HOSTS.map((h) => h.name),
  );
  // HAProxy joins the mirror later: first a mirror without it, as a site that forgot it.
  mirror = await startMirror(debs.filter((d) => d !== 'haproxy'));
  console.log(`mirror ${mirror.url}: ${debs.join(' ')}`);
  // The mirror is the hosts' only package source.
  for (const h of HOSTS) await s.tb.hostExec(h.name, `rm -f /etc/apt/sources.list.d/*; echo '${sources(mirror.url)}' > /etc/apt/sources.list`);
}, 900_000);
afterAll(async () => {
  if (mirror) {
    const { server, dir } = mirror;
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  }
  await s?.stop();
});

describe('OS packages from a local mirror', () => {
  it('installPackages false: preflight fails naming the host and the package (exit 1), and nothing is uploaded', async () => {
    await nodeLocal(false);
    const r = kubeinstall(['deploy', '-i', s.inventory, `--ignore-preflight-errors=${[...TESTBED_IGNORED_CHECKS].join(',')}`]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/preflight failed on 1 host\(s\):\n {2}n1: checks: /);
    expect(r.err).toContain(
      '[packages] missing: /usr/sbin/haproxy (for the node-local API load balancer); cluster.installPackages is false: install the package haproxy on the host',
    );
    for (const h of HOSTS) expect((await s.tb.hostExec(h.name, `find ${DEPLOY_PATHS} 2>/dev/null; true`)).stdout.trim(), h.name).toBe('');
    expect(mirror.log).toEqual([]);
  });

  it("a package the mirror lacks: prepare fails naming the host, the packages and apt-get's last lines", async () => {
    await nodeLocal(true);
    const err = await s.deploy({ phases: onlyPhases('connect', 'facts', 'preflight', 'prepare') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PhaseFailed);
    expect((err as PhaseFailed).failures.map((f) => [f.host, f.step])).toEqual([[N1.name, 'install packages']]);
    const { message } = (err as PhaseFailed).failures[0]!;
    expect(message).toContain("n1: installing haproxy, iptables, conntrack, socat with apt-get failed (exit code 100); apt-get's last lines:");
    expect(message).toContain('E: Unable to locate package haproxy');
    // The masters, which need only what the mirror has, got it.
    for (const m of [M1, M2]) expect([...(await installed(m.name))], m.name).toEqual(expect.arrayContaining(['iptables', 'conntrack', 'socat']));
    await mirror.add(['haproxy']);
  });

  it('installPackages true: prepare installs haproxy from the mirror, and stops the haproxy.service the package started', async () => {
    const before = (await s.tb.hostExec(M1.name, 'systemctl is-enabled haproxy.service; true')).stdout.trim();
    await nodeLocal(true);
    const preflight = kubeinstall(['deploy', '-i', s.inventory, '--phases', 'preflight', `--ignore-preflight-errors=${[...TESTBED_IGNORED_CHECKS].join(',')}`]);
    expect(preflight.code).toBe(0);
    expect(preflight.out).toContain('[packages] missing: /usr/sbin/haproxy (for the node-local API load balancer); prepare installs haproxy with apt-get');
    const result = await s.deploy({ phases: onlyPhases('connect', 'facts', 'preflight', 'prepare') });
    console.log(`prepare (apt-get update + install, 3 hosts at once): ${result.phaseTimings.get('prepare')} ms`);
    const notes = (host: string) => result.summary.hosts.find((h) => h.name === host)!.notes;
    expect(notes(N1.name)).toContain('installed haproxy, iptables, conntrack, socat with apt-get');
    expect(notes(M1.name).filter((n) => n.startsWith('installed'))).toEqual([]); // done by the run before
    expect((await s.tb.hostExec(N1.name, "dpkg-query -W -f '${Status} ${Version}' haproxy")).stdout).toMatch(/^install ok installed /);
    expect(mirror.log).toContainEqual(expect.stringMatching(new RegExp(`^${N1.address} GET /haproxy_\\S+\\.deb 200$`)));
    expect(mirror.log.filter((l) => l.includes('/haproxy_'))).toHaveLength(1); // n1 only
    // kubeinstall runs its own unit for the load balancer: the idle copy the package started is gone.
    expect((await s.tb.hostExec(N1.name, 'systemctl is-enabled haproxy.service; systemctl is-active haproxy.service; true')).stdout.split('\n')).toEqual([
      'disabled',
      'inactive',
      '',
    ]);
    // An operator's own haproxy (the image's, on m1) is left as it was.
    expect((await s.tb.hostExec(M1.name, 'systemctl is-enabled haproxy.service; true')).stdout.trim()).toBe(before);
    // A re-run finds everything: nothing installed, nothing fetched.
    const fetched = mirror.log.length;
    const again = await s.deploy({ phases: onlyPhases('connect', 'facts', 'preflight', 'prepare') });
    expect(again.summary.hosts.flatMap((h) => h.notes).filter((n) => n.startsWith('installed'))).toEqual([]);
    expect(mirror.log).toHaveLength(fetched);
    // What refreshing the lists before every install costs (docs/deploy.md): the median of 3.
    const took: number[] = [];
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      await s.tb.hostExec(N1.name, 'apt-get -q update');
      took.push(performance.now() - started);
    }
    console.log(`apt-get update against the mirror: ${took.sort((a, b) => a - b)[1]!.toFixed(0)} ms (median of 3)`);
  });

  it('the cluster comes up, n1 reaching the API through its HAProxy', async () => {
    await s.deploy();
    const admin = join(s.clusterDir, 'kubeconfigs/admin.conf');
    const { stdout } = await run('kubectl', ['--kubeconfig', admin, 'get', 'nodes', '-o', 'name']);
    expect(stdout.trim().split('\n').sort()).toEqual(HOSTS.map((h) => `node/${h.name}`));
  });
});

const HAPROXY_CFG = `global
  log /dev/log local0
defaults
  mode tcp
  timeout connect 5s
  timeout client 1h
  timeout server 1h
frontend kube-api
  bind ${LB.address}:6443
  default_backend masters
backend masters
${[M1, M2].map((m) => `  server ${m.name} ${m.address}:6443 check inter 1s`).join('\n')}
`;

describe('apiEndpointKind loadbalancer', () => {
  const loadBalancer = (endpoint: string) => (inv: Record<string, any>) => {
    inv.cluster.apiEndpointKind = 'loadbalancer';
    inv.cluster.apiEndpoint = endpoint;
    inv.cluster.installPackages = false;
  };

  it('an HAProxy outside the inventory: every node reaches the API through it, and the cluster comes up', async () => {
    await s.tb.hostExec(LB.name, 'cat > /etc/haproxy/haproxy.cfg && systemctl restart haproxy.service', { input: HAPROXY_CFG });
    await editInventory(loadBalancer(`${LB.address}:6443`));
    const result = await s.deploy();
    const log = await readFile(result.logPath, 'utf8');
    for (const h of HOSTS) expect(log).toContain(` ${h.name} [reach the API endpoint] exit=0 `);
    const admin = join(s.clusterDir, 'kubeconfigs/admin.conf');
    const { stdout } = await run('kubectl', ['--kubeconfig', admin, 'get', 'nodes', '-o', 'name']);
    expect(stdout.trim().split('\n').sort()).toEqual(HOSTS.map((h) => `node/${h.name}`));
  });

  it('an endpoint where nothing listens: the nodes phase fails naming every node that cannot reach it', async () => {
    await editInventory(loadBalancer(`${LB.address}:6444`));
    const err = await s.deploy({ healthTimeoutMs: 10_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PhaseFailed);
    const failed = err as PhaseFailed;
    expect(failed.phase).toBe('nodes');
    expect(failed.failures.map((f) => [f.host, f.step]).sort()).toEqual(HOSTS.map((h) => [h.name, 'reach the API endpoint']));
    for (const f of failed.failures) {
      expect(f.message).toContain(`${f.host} does not reach the API through the load balancer https://${LB.address}:6444 (apiEndpointKind: loadbalancer)`);
      expect(f.message).toContain('Connection refused');
    }
  });
});
