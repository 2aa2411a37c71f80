// Private keys: native, asynchronous generation so every core works (the libuv pool runs the jobs).
import { createPrivateKey, createPublicKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import type { KeyAlgorithm } from '../inventory/model.js';
import { ALGORITHMS, algorithmOfKey } from './algorithms.js';

const generate = promisify(generateKeyPair);

export interface KeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

export const generateKey = async (algorithm: KeyAlgorithm): Promise<KeyPair> => {
  const g = ALGORITHMS[algorithm].generate;
  return g.type === 'rsa' ? generate('rsa', { modulusLength: g.modulusLength }) : generate('ec', { namedCurve: g.namedCurve });
};

export const privateKeyPem = (key: KeyObject): string => {
  const algorithm = keyAlgorithm(key);
  if (!algorithm) throw new Error('unsupported private key type');
  return key.export({ type: ALGORITHMS[algorithm].keyEncoding, format: 'pem' }) as string;
};

/** The public half as PKIX `PUBLIC KEY` PEM (sa.pub); takes either half. */
export const publicKeyPem = (key: KeyObject): string => createPublicKey(key).export({ type: 'spki', format: 'pem' }) as string;

export const keyAlgorithm = (key: KeyObject): KeyAlgorithm | undefined =>
  algorithmOfKey({ asymmetricKeyType: key.asymmetricKeyType, ...key.asymmetricKeyDetails });

/** Parses a PEM private key; undefined (never the key text) when it is not one. */
export const parsePrivateKey = (pem: string | Buffer): KeyObject | undefined => {
  try {
    return createPrivateKey(pem);
  } catch {
    return undefined;
  }
};
