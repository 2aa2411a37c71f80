// A real three-member etcd cluster on the member certificates (peer TLS included), used by etcdctl
// with the client certificates: the etcd CA's clients get in, a kubelet's certificate does not.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../../src/lab/proc.js';
import { makePki, Servers, TEST_ALGORITHMS, waitForPort, type TestPki } from './fixture.js';

const CLIENT_PORT = 12379;
const PEER_PORT = 12380;
/** One /28 of 127.0.3.0/24 per algorithm, apart from the other PKI tests. */
const subnet = { 'rsa-2048': 64, 'ecdsa-p256': 80 } as const;
const MEMBERS = ['m1', 'm2', 'm3'];

describe.each(TEST_ALGORITHMS)('etcd on the generated certificates (%s)', (algorithm) => {
  const base = subnet[algorithm as keyof typeof subnet];
  const address = (i: number): string => `127.0.3.${base + 1 + i}`;
  const endpoints = MEMBERS.map((_, i) => `https://${address(i)}:${CLIENT_PORT}`).join(',');
  const servers = new Servers();
  let pki: TestPki;
  let data: string;
  const pkiFile = (p: string): string => join(pki.dir, 'pki', p);
  const etcdctl = (cert: string, args: string[]) =>
    run(
      'etcdctl',
      [
        '--endpoints',
        endpoints,
        '--cacert',
        pkiFile('etcd/ca.crt'),
        '--cert',
        pkiFile(`${cert}.crt`),
        '--key',
        pkiFile(`${cert}.key`),
        '--dial-timeout',
        '5s',
        '--command-timeout',
        '10s',
        ...args,
      ],
      {
        allowFailure: true,
        timeoutMs: 30_000,
      },
    );

  beforeAll(async () => {
    pki = await makePki(algorithm, '', [
      ...MEMBERS.map((name, i) => `{ name: ${name}, address: ${address(i)}, roles: [etcd, master] }`),
      `{ name: n1, address: 127.0.3.${base + 10}, roles: [node] }`,
    ]);
    data = await mkdtemp(join(tmpdir(), 'kubeinstall-etcd-'));
    const initialCluster = MEMBERS.map((name, i) => `${name}=https://${address(i)}:${PEER_PORT}`).join(',');
    MEMBERS.forEach((name, i) => {
      const member = (f: string): string => pkiFile(`etcd/members/${name}/${f}`);
      servers.start('etcd', [
        '--name',
        name,
        '--data-dir',
        join(data, name),
        '--listen-client-urls',
        `https://${address(i)}:${CLIENT_PORT}`,
        '--advertise-client-urls',
        `https://${address(i)}:${CLIENT_PORT}`,
        '--listen-peer-urls',
        `https://${address(i)}:${PEER_PORT}`,
        '--initial-advertise-peer-urls',
        `https://${address(i)}:${PEER_PORT}`,
        '--initial-cluster',
        initialCluster,
        '--initial-cluster-state',
        'new',
        '--initial-cluster-token',
        `it-${algorithm}`,
        '--cert-file',
        member('server.crt'),
        '--key-file',
        member('server.key'),
        '--client-cert-auth',
        '--trusted-ca-file',
        pkiFile('etcd/ca.crt'),
        '--peer-cert-file',
        member('peer.crt'),
        '--peer-key-file',
        member('peer.key'),
        '--peer-client-cert-auth',
        '--peer-trusted-ca-file',
        pkiFile('etcd/ca.crt'),
      ]);
    });
    await Promise.all(MEMBERS.map((_, i) => waitForPort(address(i), CLIENT_PORT)));
  });
  afterAll(async () => {
    await servers.stopAll();
    await pki?.cleanup();
    if (data) await rm(data, { recursive: true, force: true });
  });

  it('forms a healthy cluster over peer TLS, checked with the health-check client', async () => {
    let health = await etcdctl('etcd/healthcheck-client', ['endpoint', 'health']);
    for (let tries = 0; health.code !== 0 && tries < 20; tries++) {
      await new Promise((r) => setTimeout(r, 500));
      health = await etcdctl('etcd/healthcheck-client', ['endpoint', 'health']);
    }
    expect(health.code, health.stderr).toBe(0);
    expect((health.stdout + health.stderr).match(/is healthy/g)).toHaveLength(3);
    const members = await etcdctl('etcd/healthcheck-client', ['member', 'list']);
    expect(members.stdout.split('\n').filter((l) => l.includes(', started, '))).toHaveLength(3);
  });

  it("lets the API server's etcd client put and get a key", async () => {
    expect((await etcdctl('apiserver-etcd-client', ['put', '/kubeinstall/it', algorithm])).stdout.trim()).toBe('OK');
    expect((await etcdctl('apiserver-etcd-client', ['get', '/kubeinstall/it', '--print-value-only'])).stdout.trim()).toBe(algorithm);
  });

  it('refuses a kubelet client certificate (signed by the Kubernetes CA, not the etcd CA)', async () => {
    const refused = await etcdctl('kubelets/n1/kubelet-client', ['--command-timeout', '3s', 'get', '/kubeinstall/it']);
    expect(refused.code).not.toBe(0);
    expect(refused.stdout).not.toContain(algorithm);
    expect(servers.output()).toMatch(/rejected connection .*(certificate|x509)/);
  });
});
