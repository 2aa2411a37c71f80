// The key that encrypts Secrets at rest (the API server's EncryptionConfiguration, rendered by
// src/render/encryption.ts): 32 random bytes (AES-256), base64 in the cluster folder, 0600. Made once and
// never replaced by a re-run: every Secret stored with it would become unreadable.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { KubeinstallError } from '../util/errors.js';
import { readIfExists, SECRET_MODE, type OutputFile } from './store.js';

/** Relative to the cluster folder. */
export const ENCRYPTION_KEY_FILE = 'pki/encryption.key';
export const ENCRYPTION_KEY_BYTES = 32;

/** The key's bytes from the file's text; undefined (never the text) when it is not base64 of 32 bytes. */
export const parseEncryptionKey = (text: string | Buffer): Buffer | undefined => {
  const b64 = text.toString().trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return undefined;
  const key = Buffer.from(b64, 'base64');
  return key.length === ENCRYPTION_KEY_BYTES ? key : undefined;
};

/** The key file as it must be: the one found (kept; written again only if its mode drifted) or a new one. */
export const encryptionKeyFile = async (dir: string): Promise<OutputFile> => {
  const found = await readIfExists(join(dir, ENCRYPTION_KEY_FILE));
  if (found === undefined) return { path: ENCRYPTION_KEY_FILE, data: `${randomBytes(ENCRYPTION_KEY_BYTES).toString('base64')}\n`, mode: SECRET_MODE };
  if (parseEncryptionKey(found)) return { path: ENCRYPTION_KEY_FILE, data: found.toString(), mode: SECRET_MODE };
  throw new KubeinstallError(
    `${join(dir, ENCRYPTION_KEY_FILE)} is not a base64-encoded ${ENCRYPTION_KEY_BYTES}-byte key; restore it from a backup ` +
      '(Secrets stored with the old key cannot be read with a new one), or remove it if the cluster stores no Secrets yet',
  );
};
