// X.509 certificates: the TBSCertificate is assembled with node-forge's generic ASN.1 (its certificate
// helpers reject EC keys) and signed natively with crypto.sign, for RSA and ECDSA alike.
import { createHash, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto';
import forge from 'node-forge';
import { bigIntToIp, ipFamily, ipToBigInt } from '../util/ip.js';
import { keyTypeRow } from './algorithms.js';

const { asn1 } = forge;
const { Class, Type } = asn1;

export type KeyUsage = 'digitalSignature' | 'keyEncipherment' | 'keyCertSign';
export type ExtKeyUsage = 'serverAuth' | 'clientAuth';

/** KeyUsage bit positions (RFC 5280 4.2.1.3). */
const KEY_USAGE_BITS: Readonly<Record<KeyUsage, number>> = { digitalSignature: 0, keyEncipherment: 2, keyCertSign: 5 };
const EXT_KEY_USAGE_OIDS: Readonly<Record<ExtKeyUsage, string>> = { serverAuth: '1.3.6.1.5.5.7.3.1', clientAuth: '1.3.6.1.5.5.7.3.2' };

const OID = {
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
} as const;

export interface Subject {
  readonly cn: string;
  readonly o: readonly string[];
}

export interface CertTemplate {
  readonly subject: Subject;
  readonly isCa: boolean;
  readonly keyUsage: readonly KeyUsage[];
  readonly extKeyUsage: readonly ExtKeyUsage[];
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/** Who signs: a CA's subject, private key and key identifier (a CA signs its own certificate too). */
export interface Signer {
  readonly subject: Subject;
  readonly privateKey: KeyObject;
  readonly keyId: Buffer;
}

type Node = forge.asn1.Asn1;
const bin = (b: Buffer): string => b.toString('binary');
const buf = (s: string): Buffer => Buffer.from(s, 'binary');
const der = (node: Node): Buffer => buf(asn1.toDer(node).getBytes());
const seq = (items: Node[]): Node => asn1.create(Class.UNIVERSAL, Type.SEQUENCE, true, items);
const oid = (text: string): Node => asn1.create(Class.UNIVERSAL, Type.OID, false, asn1.oidToDer(text).getBytes());
const octets = (b: Buffer): Node => asn1.create(Class.UNIVERSAL, Type.OCTETSTRING, false, bin(b));
const bitString = (b: Buffer, unusedBits = 0): Node => asn1.create(Class.UNIVERSAL, Type.BITSTRING, false, String.fromCharCode(unusedBits) + bin(b));

/** A random positive serial in [1, 2^63), as kubeadm draws it. */
const randomSerial = (): Buffer => {
  const bytes = randomBytes(8);
  bytes[0] = 1 + (bytes[0]! % 0x7f); // positive, and no leading zero byte to trim
  return bytes;
};

const nameNode = (s: Subject): Node =>
  seq(
    [...s.o.map((o) => [OID.organization, o] as const), [OID.commonName, s.cn] as const].map(([type, value]) =>
      asn1.create(Class.UNIVERSAL, Type.SET, true, [seq([oid(type), asn1.create(Class.UNIVERSAL, Type.UTF8, false, forge.util.encodeUtf8(value))])]),
    ),
  );

// RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050.
const timeNode = (d: Date): Node =>
  d.getUTCFullYear() < 2050
    ? asn1.create(Class.UNIVERSAL, Type.UTCTIME, false, asn1.dateToUtcTime(d))
    : asn1.create(Class.UNIVERSAL, Type.GENERALIZEDTIME, false, asn1.dateToGeneralizedTime(d));

const ipBytes = (ip: string): Buffer => {
  const family = ipFamily(ip);
  if (!family) throw new Error(`not an IP address: ${ip}`);
  const hex = ipToBigInt(ip)
    .toString(16)
    .padStart(family === 4 ? 8 : 32, '0');
  return Buffer.from(hex, 'hex');
};

const keyUsageBits = (usages: readonly KeyUsage[]): Node => {
  const bits = usages.map((u) => KEY_USAGE_BITS[u]);
  const highest = Math.max(...bits);
  const bytes = Buffer.alloc(Math.floor(highest / 8) + 1);
  for (const b of bits) bytes[b >> 3]! |= 0x80 >> (b & 7);
  return bitString(bytes, 7 - (highest & 7));
};

const extension = (id: string, critical: boolean, value: Node): Node =>
  seq([oid(id), ...(critical ? [asn1.create(Class.UNIVERSAL, Type.BOOLEAN, false, '\xff')] : []), octets(der(value))]);

const sanNode = (dnsNames: readonly string[], ips: readonly string[]): Node =>
  seq([
    ...dnsNames.map((n) => asn1.create(Class.CONTEXT_SPECIFIC, 2, false, n)),
    ...ips.map((ip) => asn1.create(Class.CONTEXT_SPECIFIC, 7, false, bin(ipBytes(ip)))),
  ]);

/** The content of the DER element at `offset` (X.690 8.1: tag, length, content), and where the element ends. */
const derElement = (b: Buffer, offset: number): { start: number; end: number } => {
  const first = b[offset + 1]!;
  const lengthBytes = first & 0x80 ? first & 0x7f : 0;
  const length = lengthBytes ? b.subarray(offset + 2, offset + 2 + lengthBytes).reduce((n, byte) => n * 256 + byte, 0) : first;
  const start = offset + 2 + lengthBytes;
  return { start, end: start + length };
};

// Read from the DER by hand: node-forge's parser decodes BIT STRING contents that happen to be valid DER
// (an RSA key always, an EC point now and then) into child nodes, and the key bits then read as empty.
const subjectPublicKeyBits = (spki: Buffer): Buffer => {
  const algorithm = derElement(spki, derElement(spki, 0).start); // SEQUENCE { AlgorithmIdentifier, BIT STRING }
  const key = derElement(spki, algorithm.end);
  return spki.subarray(key.start + 1, key.end); // without the unused-bits byte
};

/** RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits of a DER SubjectPublicKeyInfo. */
export const keyIdentifier = (spki: Buffer): Buffer => createHash('sha1').update(subjectPublicKeyBits(spki)).digest();

/** DER length octets (X.690 8.1.3). */
const derLength = (n: number): Buffer => {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
};

/** A SEQUENCE around parts that are DER already, so nothing is parsed again to be embedded. */
const derSequence = (parts: readonly Buffer[]): Buffer => {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([0x30]), derLength(body.length), body]);
};

const pem = (label: string, derBytes: Buffer): string =>
  `-----BEGIN ${label}-----\n${derBytes.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END ${label}-----\n`;

const signatureAlgorithm = (signerKey: KeyObject): Node => {
  const row = keyTypeRow(signerKey.asymmetricKeyType);
  return seq([oid(row.signatureOid), ...(row.signatureNullParams ? [asn1.create(Class.UNIVERSAL, Type.NULL, false, '')] : [])]);
};

/** Issues a certificate for the public key `spki` (DER) signed by `signer`; returns PEM. */
export const issueCertificate = (t: CertTemplate, spki: Buffer, signer: Signer): string => {
  const algorithm = signatureAlgorithm(signer.privateKey);
  const extensions = [
    extension(OID.keyUsage, true, keyUsageBits(t.keyUsage)),
    ...(t.extKeyUsage.length ? [extension(OID.extKeyUsage, false, seq(t.extKeyUsage.map((u) => oid(EXT_KEY_USAGE_OIDS[u]))))] : []),
    extension(OID.basicConstraints, true, seq(t.isCa ? [asn1.create(Class.UNIVERSAL, Type.BOOLEAN, false, '\xff')] : [])),
    t.isCa
      ? extension(OID.subjectKeyIdentifier, false, octets(keyIdentifier(spki)))
      : extension(OID.authorityKeyIdentifier, false, seq([asn1.create(Class.CONTEXT_SPECIFIC, 0, false, bin(signer.keyId))])),
    ...(t.dnsNames.length || t.ipAddresses.length ? [extension(OID.subjectAltName, false, sanNode(t.dnsNames, t.ipAddresses))] : []),
  ];
  const tbs = derSequence([
    ...[
      asn1.create(Class.CONTEXT_SPECIFIC, 0, true, [asn1.create(Class.UNIVERSAL, Type.INTEGER, false, '\x02')]),
      asn1.create(Class.UNIVERSAL, Type.INTEGER, false, bin(randomSerial())),
      algorithm,
      nameNode(signer.subject),
      seq([timeNode(t.notBefore), timeNode(t.notAfter)]),
      nameNode(t.subject),
    ].map(der),
    spki,
    der(asn1.create(Class.CONTEXT_SPECIFIC, 3, true, [seq(extensions)])),
  ]);
  const signature = sign('sha256', tbs, signer.privateKey);
  return pem('CERTIFICATE', derSequence([tbs, der(algorithm), der(bitString(signature))]));
};

/** What a certificate says, read back from its DER (the checks compare this with the spec). */
export interface CertInfo {
  readonly x509: X509Certificate;
  readonly subject: Subject;
  readonly issuer: Subject;
  readonly isCa: boolean;
  readonly keyUsage: readonly KeyUsage[];
  readonly extKeyUsage: readonly string[];
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly subjectKeyId?: Buffer;
  readonly authorityKeyId?: Buffer;
}

const readName = (node: Node): Subject => {
  const pairs = (node.value as Node[]).flatMap((set) =>
    (set.value as Node[]).map((atv) => {
      const [type, value] = atv.value as Node[];
      return [asn1.derToOid(type!.value as string), forge.util.decodeUtf8(value!.value as string)] as const;
    }),
  );
  return {
    cn: pairs.find(([t]) => t === OID.commonName)?.[1] ?? '',
    o: pairs.filter(([t]) => t === OID.organization).map(([, v]) => v),
  };
};

const readTime = (node: Node): Date =>
  node.type === Type.UTCTIME ? asn1.utcTimeToDate(node.value as string) : asn1.generalizedTimeToDate(node.value as string);

const readIp = (bytes: string): string => {
  const family = bytes.length === 4 ? 4 : 6;
  return bigIntToIp(BigInt(`0x${buf(bytes).toString('hex') || '0'}`), family);
};

const readExtensions = (tbsItems: Node[]): Map<string, Node> => {
  const wrapper = tbsItems.find((n) => n.tagClass === Class.CONTEXT_SPECIFIC && n.type === 3);
  const list = wrapper ? ((wrapper.value as Node[])[0]!.value as Node[]) : [];
  return new Map(
    list.map((ext) => {
      const items = ext.value as Node[];
      const value = items[items.length - 1]!.value as string;
      return [asn1.derToOid(items[0]!.value as string), asn1.fromDer(value)] as const;
    }),
  );
};

const readKeyUsage = (node: Node | undefined): KeyUsage[] => {
  if (!node) return [];
  const bytes = buf((node.value as string).slice(1));
  return (Object.entries(KEY_USAGE_BITS) as [KeyUsage, number][]).filter(([, bit]) => ((bytes[bit >> 3] ?? 0) & (0x80 >> (bit & 7))) !== 0).map(([u]) => u);
};

const extKeyUsageName = (text: string): string => (Object.entries(EXT_KEY_USAGE_OIDS) as [ExtKeyUsage, string][]).find(([, o]) => o === text)?.[0] ?? text;

/** Parses one PEM certificate. Throws on anything that is not a well-formed certificate. */
export const parseCertificate = (pem: string | Buffer): CertInfo => {
  const x509 = new X509Certificate(pem);
  const items = asn1.fromDer(bin(x509.raw)).value as Node[];
  const tbs = items[0]!.value as Node[];
  const offset = tbs[0]!.tagClass === Class.CONTEXT_SPECIFIC ? 1 : 0; // the optional [0] version
  const validity = tbs[offset + 3]!.value as Node[];
  const ext = readExtensions(tbs);
  const san = (ext.get(OID.subjectAltName)?.value as Node[] | undefined) ?? [];
  const basic = ext.get(OID.basicConstraints)?.value as Node[] | undefined;
  const aki = (ext.get(OID.authorityKeyIdentifier)?.value as Node[] | undefined)?.find((n) => n.tagClass === Class.CONTEXT_SPECIFIC && n.type === 0);
  const ski = ext.get(OID.subjectKeyIdentifier);
  return {
    x509,
    issuer: readName(tbs[offset + 2]!),
    subject: readName(tbs[offset + 4]!),
    isCa: basic?.[0]?.type === Type.BOOLEAN && basic[0].value !== '\x00',
    keyUsage: readKeyUsage(ext.get(OID.keyUsage)),
    extKeyUsage: ((ext.get(OID.extKeyUsage)?.value as Node[] | undefined) ?? []).map((n) => extKeyUsageName(asn1.derToOid(n.value as string))),
    dnsNames: san.filter((n) => n.type === 2).map((n) => n.value as string),
    ipAddresses: san.filter((n) => n.type === 7).map((n) => readIp(n.value as string)),
    notBefore: readTime(validity[0]!),
    notAfter: readTime(validity[1]!),
    subjectKeyId: ski ? buf(ski.value as string) : undefined,
    authorityKeyId: aki ? buf(aki.value as string) : undefined,
  };
};

/** Canonical text of an IP, so `::1` and `0:0::1` compare equal. */
export const canonicalIp = (ip: string): string => {
  const family = ipFamily(ip);
  return family ? bigIntToIp(ipToBigInt(ip), family) : ip;
};
