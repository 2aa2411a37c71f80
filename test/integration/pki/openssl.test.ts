// Every certificate, including those inside kubeconfigs, checked by the openssl command line.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseKubeconfig } from '../../../src/kubeconfig/kubeconfig.js';
import { ALGORITHMS } from '../../../src/pki/algorithms.js';
import { keyUsagesOf, PROFILES, type CertInstance } from '../../../src/pki/specs.js';
import type { KeyAlgorithm } from '../../../src/inventory/model.js';
import { ipToBigInt } from '../../../src/util/ip.js';
import { run } from '../../../src/lab/proc.js';
import { makePki, TEST_ALGORITHMS, type TestPki } from './fixture.js';

const KEY_USAGE_TEXT = { digitalSignature: 'Digital Signature', keyEncipherment: 'Key Encipherment', keyCertSign: 'Certificate Sign' } as const;
const EXT_KEY_USAGE_TEXT = { serverAuth: 'TLS Web Server Authentication', clientAuth: 'TLS Web Client Authentication' } as const;

/** openssl 3.0 prints IPv6 SANs uncompressed, without leading zeros. */
const opensslIp = (ip: string): string =>
  ip.includes(':')
    ? ipToBigInt(ip)
        .toString(16)
        .padStart(32, '0')
        .match(/.{4}/g)!
        .map((h) => parseInt(h, 16).toString(16))
        .join(':')
    : ip;

/** The lines of `openssl x509 -text` this spec determines: keyEncipherment only for RSA keys (RFC 5480). */
const expectedText = (c: CertInstance, algorithm: KeyAlgorithm): string[] => {
  const profile = PROFILES[c.spec.profile];
  const keyUsage = keyUsagesOf(c.spec.profile, ALGORITHMS[algorithm].type);
  const subject = [...c.subject.o.map((o) => `O = ${o}`), `CN = ${c.subject.cn}`].join(', ');
  const sans = [...c.altNames.dnsNames.map((d) => `DNS:${d}`), ...c.altNames.ipAddresses.map((ip) => `IP Address:${opensslIp(ip)}`)].join(', ');
  return [
    `Subject: ${subject}`,
    `X509v3 Key Usage: critical\n                ${keyUsage.map((u) => KEY_USAGE_TEXT[u]).join(', ')}\n`,
    `X509v3 Basic Constraints: critical\n                CA:${c.spec.profile === 'ca' ? 'TRUE' : 'FALSE'}`,
    ...(profile.extKeyUsage.length ? [`X509v3 Extended Key Usage: \n                ${profile.extKeyUsage.map((u) => EXT_KEY_USAGE_TEXT[u]).join(', ')}`] : []),
    ...(sans ? [`X509v3 Subject Alternative Name: \n                ${sans}`] : []),
  ];
};

describe.each(TEST_ALGORITHMS)('the PKI checked by openssl (%s)', (algorithm) => {
  let pki: TestPki;
  let scratch: string;
  /** Where each cert and key can be read as a file: its own, or extracted from its kubeconfig. */
  const paths = new Map<string, { crt: string; key: string; ca: string }>();

  beforeAll(async () => {
    pki = await makePki(algorithm, '  apiEndpoint: 127.0.3.10:6443\n  apiEndpointKind: vip', [
      '{ name: m1, address: 127.0.3.1, roles: [etcd, master] }',
      '{ name: m2, address: 127.0.3.2, roles: [etcd, master] }',
      '{ name: m3, address: 127.0.3.3, roles: [etcd, master] }',
      '{ name: n1, address: 127.0.3.4, roles: [node] }',
      '{ name: n2, address: 127.0.3.5, roles: [node] }',
    ]);
    scratch = await mkdtemp(join(tmpdir(), 'kubeinstall-openssl-'));
    const caPath = (c: CertInstance): string => join(pki.dir, pki.plan.certs.find((x) => x.id === c.ca)!.files!.crt);
    for (const c of pki.plan.certs) {
      if (c.files) {
        paths.set(c.id, { crt: join(pki.dir, c.files.crt), key: join(pki.dir, c.files.key), ca: caPath(c) });
        continue;
      }
      const k = parseKubeconfig(await readFile(join(pki.dir, pki.plan.kubeconfigs.find((x) => x.certId === c.id)!.file), 'utf8'));
      const base = join(scratch, c.id.replace('/', '_'));
      await writeFile(`${base}.crt`, k.certPem);
      await writeFile(`${base}.key`, k.keyPem);
      paths.set(c.id, { crt: `${base}.crt`, key: `${base}.key`, ca: caPath(c) });
    }
  });
  afterAll(async () => {
    await pki?.cleanup();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('covers every kind of certificate in the table', () => {
    expect(new Set(pki.plan.certs.map((c) => c.spec.name)).size).toBe(17);
    // kubelet-client and kubelet-server for each of the 5 hosts running a kubelet (masters too)
    expect(pki.plan.certs.length).toBe(3 + 5 + 3 * 2 + 5 * 2 + 3 + 3 * 2);
  });

  it('chains every certificate to its CA (openssl verify -x509_strict)', async () => {
    for (const c of pki.plan.certs) {
      const p = paths.get(c.id)!;
      const { stdout } = await run('openssl', ['verify', '-x509_strict', '-CAfile', p.ca, p.crt]);
      expect(stdout.trim(), c.id).toBe(`${p.crt}: OK`);
    }
  });

  it('shows the subject, key usages, extended key usages and SANs of its spec (openssl x509 -text)', async () => {
    for (const c of pki.plan.certs) {
      const { stdout } = await run('openssl', ['x509', '-in', paths.get(c.id)!.crt, '-noout', '-text']);
      for (const line of expectedText(c, algorithm)) expect(stdout, c.id).toContain(line);
      expect(stdout.includes('Key Encipherment'), c.id).toBe(algorithm !== 'ecdsa-p256');
      expect(stdout, c.id).toContain(`Signature Algorithm: ${algorithm === 'ecdsa-p256' ? 'ecdsa-with-SHA256' : 'sha256WithRSAEncryption'}`);
    }
  });

  it('pairs every certificate with its own private key (openssl pkey -pubout)', async () => {
    for (const c of pki.plan.certs) {
      const p = paths.get(c.id)!;
      const [fromKey, fromCert] = await Promise.all([
        run('openssl', ['pkey', '-in', p.key, '-pubout']),
        run('openssl', ['x509', '-in', p.crt, '-noout', '-pubkey']),
      ]);
      expect(fromKey.stdout, c.id).toBe(fromCert.stdout);
    }
    const sa = await run('openssl', ['pkey', '-in', join(pki.dir, 'pki/sa.key'), '-pubout']);
    expect(sa.stdout).toBe(await readFile(join(pki.dir, 'pki/sa.pub'), 'utf8'));
  });

  it('rejects a certificate checked against the wrong CA', async () => {
    const apiserver = paths.get('apiserver')!;
    const { code, stdout, stderr } = await run('openssl', ['verify', '-CAfile', join(pki.dir, 'pki/etcd/ca.crt'), apiserver.crt], { allowFailure: true });
    expect(code).not.toBe(0);
    expect(stdout + stderr).toMatch(/unable to get local issuer certificate/);
  });
});
