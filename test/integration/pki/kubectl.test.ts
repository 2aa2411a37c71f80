// Every kubeconfig used by kubectl against openssl s_server, which serves the API server certificate,
// demands a client certificate from the Kubernetes CA and answers /healthz from a file.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseKubeconfig, renderKubeconfig } from '../../../src/kubeconfig/kubeconfig.js';
import { run } from '../../../src/lab/proc.js';
import { makePki, Servers, TEST_ALGORITHMS, waitForPort, type TestPki } from './fixture.js';

const PORT = 16443;
/** One /28 of 127.0.3.0/24 per algorithm, so both describe blocks can run at once. */
const subnet = { 'rsa-2048': 16, 'ecdsa-p256': 32 } as const;

describe.each(TEST_ALGORITHMS)('kubeconfigs used by kubectl (%s)', (algorithm) => {
  const base = subnet[algorithm as keyof typeof subnet];
  const vip = `127.0.3.${base}`;
  const servers = new Servers();
  let pki: TestPki;
  let www: string;

  beforeAll(async () => {
    pki = await makePki(algorithm, `  apiEndpoint: ${vip}:${PORT}\n  apiEndpointKind: vip\n  apiServerPort: ${PORT}`, [
      `{ name: m1, address: 127.0.3.${base + 1}, roles: [etcd, master] }`,
      `{ name: m2, address: 127.0.3.${base + 2}, roles: [etcd, master] }`,
      `{ name: m3, address: 127.0.3.${base + 3}, roles: [etcd, master] }`,
      `{ name: n1, address: 127.0.3.${base + 4}, roles: [node] }`,
      `{ name: n2, address: 127.0.3.${base + 5}, roles: [node] }`,
    ]);
    www = await mkdtemp(join(tmpdir(), 'kubeinstall-www-'));
    await writeFile(join(www, 'healthz'), 'ok');
    // one server per address the kubeconfigs name: the VIP and each master's own API server
    const addresses = [vip, ...[1, 2, 3].map((i) => `127.0.3.${base + i}`)];
    for (const address of addresses) {
      servers.start(
        'openssl',
        [
          's_server',
          '-accept',
          `${address}:${PORT}`,
          '-cert',
          join(pki.dir, 'pki/apiserver.crt'),
          '-key',
          join(pki.dir, 'pki/apiserver.key'),
          '-CAfile',
          join(pki.dir, 'pki/ca.crt'),
          '-Verify',
          '1',
          '-verify_return_error',
          '-WWW',
          '-quiet',
        ],
        www,
      );
    }
    await Promise.all(addresses.map((a) => waitForPort(a, PORT)));
  });
  afterAll(async () => {
    await servers.stopAll();
    await pki?.cleanup();
    if (www) await rm(www, { recursive: true, force: true });
  });

  it('writes a kubeconfig for each component, each accepted by kubectl config view', async () => {
    expect(pki.plan.kubeconfigs.map((k) => k.file)).toHaveLength(3 + 3 * 2 + 5); // a kubelet.conf for masters too
    for (const k of pki.plan.kubeconfigs) {
      const { stdout } = await run('kubectl', [
        'config',
        'view',
        '--kubeconfig',
        join(pki.dir, k.file),
        '-o',
        'jsonpath={.current-context} {.clusters[0].cluster.server}',
      ]);
      const user = pki.plan.certs.find((c) => c.id === k.certId)!.subject.cn;
      expect(stdout, k.file).toBe(`${user}@it ${k.server}`);
    }
  });

  it('reaches /healthz with every kubeconfig, at the server it names, over mutual TLS', async () => {
    for (const k of pki.plan.kubeconfigs) {
      const { stdout } = await run('kubectl', ['--kubeconfig', join(pki.dir, k.file), 'get', '--raw', '/healthz'], { timeoutMs: 20_000 });
      expect(stdout.trim(), k.file).toBe('ok');
    }
  });

  it('is refused with a client certificate from another CA', async () => {
    const admin = parseKubeconfig(await readFile(join(pki.dir, 'kubeconfigs/admin.conf'), 'utf8'));
    const strangerFile = join(www, 'stranger.conf');
    const [certPem, keyPem] = await Promise.all(['crt', 'key'].map((ext) => readFile(join(pki.dir, `pki/front-proxy-client.${ext}`), 'utf8')));
    await writeFile(strangerFile, renderKubeconfig({ ...admin, certPem: certPem!, keyPem: keyPem! }), { mode: 0o600 });
    const { code, stdout, stderr } = await run('kubectl', ['--kubeconfig', strangerFile, 'get', '--raw', '/healthz'], {
      allowFailure: true,
      timeoutMs: 20_000,
    });
    expect(code).not.toBe(0);
    expect(stdout).not.toContain('ok');
    expect(stderr).toMatch(/tls: (unknown certificate authority|.*certificate)/i);
  });
});
