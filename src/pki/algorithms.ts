// Key algorithms: how the inventory's choice is generated, and how each key type signs.
import type { KeyAlgorithm } from '../inventory/model.js';

export type KeyType = 'rsa' | 'ec';

export const ALGORITHMS: Readonly<
  Record<KeyAlgorithm, { readonly type: 'rsa'; readonly modulusLength: number } | { readonly type: 'ec'; readonly namedCurve: string }>
> = {
  'rsa-2048': { type: 'rsa', modulusLength: 2048 },
  'rsa-3072': { type: 'rsa', modulusLength: 3072 },
  'rsa-4096': { type: 'rsa', modulusLength: 4096 },
  'ecdsa-p256': { type: 'ec', namedCurve: 'prime256v1' },
};

export interface KeyTypeRow {
  /** X.509 signatureAlgorithm when a key of this type signs with SHA-256 (RFC 4055, RFC 5758). */
  readonly signatureOid: string;
  /** RSA's AlgorithmIdentifier carries an explicit NULL parameter; ECDSA's carries none. */
  readonly signatureNullParams: boolean;
}

export const KEY_TYPES: Readonly<Record<KeyType, KeyTypeRow>> = {
  rsa: { signatureOid: '1.2.840.113549.1.1.11', signatureNullParams: true },
  ec: { signatureOid: '1.2.840.10045.4.3.2', signatureNullParams: false },
};

/** The inventory algorithm a key is, or undefined for anything we do not issue. */
export const algorithmOfKey = (details: { asymmetricKeyType?: string; modulusLength?: number; namedCurve?: string }): KeyAlgorithm | undefined =>
  (Object.keys(ALGORITHMS) as KeyAlgorithm[]).find((name) => {
    const g = ALGORITHMS[name];
    return details.asymmetricKeyType === g.type && (g.type === 'rsa' ? details.modulusLength === g.modulusLength : details.namedCurve === g.namedCurve);
  });

/** The row for a key's type; throws for key types we never generate (e.g. ed25519). */
export const keyTypeRow = (asymmetricKeyType: string | undefined): KeyTypeRow => {
  if (asymmetricKeyType !== 'rsa' && asymmetricKeyType !== 'ec') throw new Error(`unsupported key type ${asymmetricKeyType ?? 'unknown'}`);
  return KEY_TYPES[asymmetricKeyType];
};
