// Private keys: native, asynchronous generation so every core works (the libuv pool runs the jobs).
import { createPrivateKey, createPublicKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import type { KeyAlgorithm } from '../inventory/model.js';
import { ALGORITHMS, algorithmOfKey, keyTypeRow } from './algorithms.js';

const generate = promisify(generateKeyPair);

export interface KeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

export const generateKey = async (algorithm: KeyAlgorithm): Promise<KeyPair> => {
  const g = ALGORITHMS[algorithm];
  return g.type === 'rsa' ? generate('rsa', { modulusLength: g.modulusLength }) : generate('ec', { namedCurve: g.namedCurve });
};

export const privateKeyPem = (key: KeyObject): string => key.export({ type: keyTypeRow(key.asymmetricKeyType).keyEncoding, format: 'pem' }) as string;

/** The public half as PKIX `PUBLIC KEY` PEM (sa.pub); takes either half. */
export const publicKeyPem = (key: KeyObject): string => createPublicKey(key).export({ type: 'spki', format: 'pem' }) as string;

export const keyAlgorithm = (key: KeyObject): KeyAlgorithm | undefined =>
  algorithmOfKey({ asymmetricKeyType: key.asymmetricKeyType, ...key.asymmetricKeyDetails });

/** PEM labels of the private-key encodings we read, with the DER type each stands for. */
const PEM_KEY_TYPES = { 'RSA PRIVATE KEY': 'pkcs1', 'EC PRIVATE KEY': 'sec1', 'PRIVATE KEY': 'pkcs8' } as const;

/**
 * Parses a PEM private key; undefined (never the key text) when it is not one. The DER is decoded with
 * its type named, because OpenSSL 3 otherwise tries every decoder in turn (2.5x slower per key).
 */
export const parsePrivateKey = (pem: string | Buffer): KeyObject | undefined => {
  const m = /-----BEGIN ([A-Z ]+)-----([A-Za-z0-9+/=\s]+)-----END \1-----/.exec(pem.toString());
  const type = m && PEM_KEY_TYPES[m[1] as keyof typeof PEM_KEY_TYPES];
  if (!type) return undefined;
  try {
    return createPrivateKey({ key: Buffer.from(m[2]!, 'base64'), format: 'der', type });
  } catch {
    return undefined;
  }
};
