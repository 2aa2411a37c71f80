import { describe, expect, it } from 'vitest';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { generateKey } from './keys.js';
import { canonicalIp, issueCertificate, keyIdentifier, parseCertificate, type CertTemplate } from './x509.js';

const now = new Date('2026-01-01T00:00:00Z');
const later = new Date('2060-01-01T00:00:00Z'); // past 2049: GeneralizedTime

describe.each(['rsa-2048', 'ecdsa-p256'] as const)('issueCertificate with %s', (algorithm) => {
  it('writes what it was asked, and the signature checks against the CA key only', async () => {
    const keys = async () => {
      const { pem, spki } = await generateKey(algorithm);
      return { spki, privateKey: createPrivateKey(pem), publicKey: createPublicKey({ key: spki, format: 'der', type: 'spki' }) };
    };
    const [ca, leaf, stranger] = await Promise.all([keys(), keys(), keys()]);
    const caSubject = { cn: 'etcd-ca', o: [] };
    const caTemplate: CertTemplate = {
      subject: caSubject,
      isCa: true,
      keyUsage: ['digitalSignature', 'keyEncipherment', 'keyCertSign'],
      extKeyUsage: [],
      dnsNames: ['etcd-ca'],
      ipAddresses: [],
      notBefore: now,
      notAfter: later,
    };
    const caKeyId = keyIdentifier(ca.spki);
    const caPem = issueCertificate(caTemplate, ca.spki, { subject: caSubject, privateKey: ca.privateKey, keyId: caKeyId });
    const leafPem = issueCertificate(
      {
        subject: { cn: 'system:node:n1', o: ['system:nodes'] },
        isCa: false,
        keyUsage: ['digitalSignature', 'keyEncipherment'],
        extKeyUsage: ['serverAuth', 'clientAuth'],
        dnsNames: ['n1', 'localhost'],
        ipAddresses: ['127.0.3.1', '::1'],
        notBefore: now,
        notAfter: now,
      },
      leaf.spki,
      { subject: caSubject, privateKey: ca.privateKey, keyId: caKeyId },
    );
    const caInfo = parseCertificate(caPem);
    const info = parseCertificate(leafPem);
    expect(caInfo).toMatchObject({
      isCa: true,
      subject: caSubject,
      issuer: caSubject,
      keyUsage: ['digitalSignature', 'keyEncipherment', 'keyCertSign'],
      dnsNames: ['etcd-ca'],
      notAfter: later,
    });
    expect(caInfo.subjectKeyId).toEqual(caKeyId);
    expect(info).toMatchObject({
      isCa: false,
      subject: { cn: 'system:node:n1', o: ['system:nodes'] },
      issuer: caSubject,
      keyUsage: ['digitalSignature', 'keyEncipherment'],
      extKeyUsage: ['serverAuth', 'clientAuth'],
      dnsNames: ['n1', 'localhost'],
      ipAddresses: ['127.0.3.1', '::1'],
      notBefore: now,
    });
    expect(info.authorityKeyId).toEqual(caKeyId);
    expect(info.x509.verify(ca.publicKey)).toBe(true);
    expect(info.x509.verify(stranger.publicKey)).toBe(false);
    expect(info.x509.checkPrivateKey(leaf.privateKey)).toBe(true);
    expect(info.x509.checkPrivateKey(stranger.privateKey)).toBe(false);
    expect(BigInt(`0x${info.x509.serialNumber}`)).toBeGreaterThan(0n);
  });
});

describe('parseCertificate', () => {
  it('throws on a truncated PEM', () => {
    expect(() => parseCertificate('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n')).toThrow();
  });
});

describe('canonicalIp', () => {
  it('normalises IPv6 spellings and leaves names alone', () => {
    expect(canonicalIp('0:0:0:0:0:0:0:1')).toBe('::1');
    expect(canonicalIp('10.96.0.1')).toBe('10.96.0.1');
    expect(canonicalIp('node-1')).toBe('node-1');
  });
});
