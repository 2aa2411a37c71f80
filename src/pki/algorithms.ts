// One row per key algorithm the inventory may choose: how to generate it, how to store it, how it signs.
import type { KeyAlgorithm } from '../inventory/model.js';

export interface AlgorithmRow {
  readonly generate: { readonly type: 'rsa'; readonly modulusLength: number } | { readonly type: 'ec'; readonly namedCurve: string };
  /** PEM private-key encoding kubeadm writes: PKCS#1 `RSA PRIVATE KEY` or SEC1 `EC PRIVATE KEY`. */
  readonly keyEncoding: 'pkcs1' | 'sec1';
  /** X.509 signatureAlgorithm when a key of this kind signs (RFC 4055 / RFC 5758). */
  readonly signatureOid: string;
  /** RSA's AlgorithmIdentifier carries an explicit NULL parameter; ECDSA's carries none. */
  readonly signatureNullParams: boolean;
}

const SHA256_WITH_RSA = '1.2.840.113549.1.1.11';
const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';

const rsa = (modulusLength: number): AlgorithmRow => ({
  generate: { type: 'rsa', modulusLength },
  keyEncoding: 'pkcs1',
  signatureOid: SHA256_WITH_RSA,
  signatureNullParams: true,
});

export const ALGORITHMS: Readonly<Record<KeyAlgorithm, AlgorithmRow>> = {
  'rsa-2048': rsa(2048),
  'rsa-3072': rsa(3072),
  'rsa-4096': rsa(4096),
  'ecdsa-p256': {
    generate: { type: 'ec', namedCurve: 'prime256v1' },
    keyEncoding: 'sec1',
    signatureOid: ECDSA_WITH_SHA256,
    signatureNullParams: false,
  },
};

/** The inventory algorithm a key object is, or undefined for anything we do not issue. */
export const algorithmOfKey = (details: { asymmetricKeyType?: string; modulusLength?: number; namedCurve?: string }): KeyAlgorithm | undefined =>
  (Object.keys(ALGORITHMS) as KeyAlgorithm[]).find((name) => {
    const g = ALGORITHMS[name].generate;
    return g.type === 'rsa'
      ? details.asymmetricKeyType === 'rsa' && details.modulusLength === g.modulusLength
      : details.asymmetricKeyType === 'ec' && details.namedCurve === g.namedCurve;
  });
