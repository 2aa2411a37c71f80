// Secrets encrypted at rest: the API server's EncryptionConfiguration, built from the key `kubeinstall
// certs` keeps in the cluster folder (src/pki/encryption.ts). The key never reaches a host on its own;
// masters get this file (0600), which holds it.
import { ENCRYPTION_KEY_FILE, parseEncryptionKey } from '../pki/encryption.js';
import { KubeinstallError } from '../util/errors.js';
import { renderAsset } from './template.js';

/** Named in every stored Secret's prefix, `k8s:enc:aescbc:v1:<name>:`; a key rotation would add the next name. */
export const ENCRYPTION_KEY_NAME = 'key1';

export const renderEncryptionConfig = (keyFile: Buffer): Buffer => {
  const key = parseEncryptionKey(keyFile);
  if (!key) throw new KubeinstallError(`cannot plan: ${ENCRYPTION_KEY_FILE} in the cluster folder is not a base64-encoded 32-byte key`);
  return Buffer.from(renderAsset('config/encryption-config.yaml', { keyName: ENCRYPTION_KEY_NAME, secret: key.toString('base64') }));
};
