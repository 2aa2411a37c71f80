// The VRRP password the masters' keepalived instances share (apiEndpointKind: vip, rendered by
// src/render/keepalived.ts): made once by `kubeinstall certs` in the cluster folder, 0600, kept by
// every re-run, and never printed. VRRPv2 simple-password authentication carries 8 characters at most,
// so it guards against a neighbour's misconfigured VRRP group, not against an attacker on the segment.
import { randomInt } from 'node:crypto';
import { join } from 'node:path';
import { KubeinstallError } from '../util/errors.js';
import { readIfExists, SECRET_MODE, type OutputFile } from './store.js';

/** Relative to the cluster folder. */
export const VRRP_PASSWORD_FILE = 'pki/vrrp-password';
/** keepalived truncates a longer `auth_pass` to what VRRPv2 carries. */
export const VRRP_PASSWORD_CHARS = 8;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** The password from the file's text; undefined (never the text) when it is not 8 alphanumerics. */
export const parseVrrpPassword = (text: string | Buffer): string | undefined => {
  const password = text.toString().trim();
  return new RegExp(`^[A-Za-z0-9]{${VRRP_PASSWORD_CHARS}}$`).test(password) ? password : undefined;
};

/** The password file as it must be: the one found (kept; written again only if its mode drifted) or a new one. */
export const vrrpPasswordFile = async (dir: string): Promise<OutputFile> => {
  const found = await readIfExists(join(dir, VRRP_PASSWORD_FILE));
  if (found === undefined) {
    const password = Array.from({ length: VRRP_PASSWORD_CHARS }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
    return { path: VRRP_PASSWORD_FILE, data: `${password}\n`, mode: SECRET_MODE };
  }
  if (parseVrrpPassword(found)) return { path: VRRP_PASSWORD_FILE, data: found.toString(), mode: SECRET_MODE };
  throw new KubeinstallError(
    `${join(dir, VRRP_PASSWORD_FILE)} is not ${VRRP_PASSWORD_CHARS} letters and digits; remove it and run certs again to make a new one`,
  );
};
