// Private keys: native, asynchronous generation so every core works. The libuv pool also encodes each
// key (PEM private key, DER public key), which keeps that work off the main thread too.
import { createPrivateKey, createPublicKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import type { KeyAlgorithm } from '../inventory/model.js';
import { ALGORITHMS, algorithmOfKey } from './algorithms.js';

const generate = promisify(generateKeyPair);

export interface GeneratedKey {
  /** The private key as kubeadm writes it (PKCS#1 or SEC1 PEM). */
  readonly pem: string;
  /** The public key as a DER SubjectPublicKeyInfo, ready for a certificate. */
  readonly spki: Buffer;
}

export const generateKey = async (algorithm: KeyAlgorithm): Promise<GeneratedKey> => {
  const g = ALGORITHMS[algorithm];
  const publicKeyEncoding = { type: 'spki', format: 'der' } as const;
  // kubeadm's encodings: PKCS#1 `RSA PRIVATE KEY`, SEC1 `EC PRIVATE KEY`
  const { privateKey, publicKey } =
    g.type === 'rsa'
      ? await generate('rsa', { modulusLength: g.modulusLength, publicKeyEncoding, privateKeyEncoding: { type: 'pkcs1', format: 'pem' } })
      : await generate('ec', { namedCurve: g.namedCurve, publicKeyEncoding, privateKeyEncoding: { type: 'sec1', format: 'pem' } });
  return { pem: privateKey, spki: publicKey };
};

/**
 * Key jobs in the order asked, a few more at a time than the libuv pool has threads (so it never idles).
 * Jobs handed to the pool cannot be cancelled and the process cannot exit before they end, so the rest
 * wait here: once `signal` fires they are refused with `stopped()`, and Ctrl-C is answered in well under a
 * second even with hundreds of RSA keys to go.
 */
export const keyQueue = (signal: AbortSignal | undefined, stopped: () => Error): ((job: () => Promise<GeneratedKey>) => Promise<GeneratedKey>) => {
  const limit = 2 * (Number(process.env.UV_THREADPOOL_SIZE) || 4);
  let running = 0;
  const waiting: (() => void)[] = [];
  const next = (): void => {
    while (running < limit && waiting.length) waiting.shift()!();
  };
  return (job) =>
    new Promise((resolve, reject) => {
      waiting.push(() => {
        if (signal?.aborted) return reject(stopped());
        running++;
        job()
          .then(resolve, reject)
          .finally(() => {
            running--;
            next();
          });
      });
      next();
    });
};

/** The public half as PKIX `PUBLIC KEY` PEM (sa.pub); takes either half. */
export const publicKeyPem = (key: KeyObject): string => createPublicKey(key).export({ type: 'spki', format: 'pem' }) as string;

/** The DER SubjectPublicKeyInfo of either half of a key pair. */
export const spkiOf = (key: KeyObject): Buffer => (key.type === 'public' ? key : createPublicKey(key)).export({ type: 'spki', format: 'der' });

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
