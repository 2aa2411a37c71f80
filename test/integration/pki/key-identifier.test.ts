// Subject key identifiers against openssl's, and a CA bundle of an old and a new CA with the same subject
// (the first step of a CA rotation): openssl must pick the issuer by key identifier, in either order.
import { generateKeyPairSync, createPrivateKey } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatePki } from '../../../src/pki/generate.js';
import { generateKey, spkiOf } from '../../../src/pki/keys.js';
import { keyIdentifier } from '../../../src/pki/x509.js';
import { run } from '../../../src/lab/proc.js';
import { makePki, TEST_ALGORITHMS } from './fixture.js';

let scratch: string;
beforeAll(async () => void (scratch = await mkdtemp(join(tmpdir(), 'kubeinstall-ski-'))));
afterAll(async () => rm(scratch, { recursive: true, force: true }));

/** The SKI openssl itself writes on a self-signed certificate it makes from this key (hex, no colons). */
const opensslKeyId = async (keyPem: string, name: string): Promise<string> => {
  const key = join(scratch, `${name}.key`);
  const crt = join(scratch, `${name}.crt`);
  await writeFile(key, keyPem, { mode: 0o600 });
  await run('openssl', ['req', '-new', '-x509', '-key', key, '-subj', `/CN=${name}`, '-days', '1', '-out', crt]);
  const { stdout } = await run('openssl', ['x509', '-in', crt, '-noout', '-ext', 'subjectKeyIdentifier']);
  return stdout.split('\n')[1]!.trim().replace(/:/g, '').toLowerCase();
};

/** A P-256 key whose public point's X starts with `firstByte`: the case where the key bits look like DER. */
const ecKeyWithX = (firstByte: number): string => {
  for (;;) {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const spki = publicKey.export({ type: 'spki', format: 'der' });
    if (spki[spki.length - 64] === firstByte) return privateKey.export({ type: 'sec1', format: 'pem' }) as string;
  }
};

describe('keyIdentifier (RFC 5280 method 1) agrees with openssl', () => {
  it('for 50 RSA and 50 ECDSA keys, and ECDSA keys whose X starts with 0x3f or 0x40', async () => {
    const generated = await Promise.all([
      ...Array.from({ length: 50 }, () => generateKey('rsa-2048')),
      ...Array.from({ length: 50 }, () => generateKey('ecdsa-p256')),
    ]);
    const pems = [...generated.map((g) => g.pem), ecKeyWithX(0x3f), ecKeyWithX(0x40)];
    const ours = pems.map((pem) => keyIdentifier(spkiOf(createPrivateKey(pem))).toString('hex'));
    const theirs: string[] = [];
    for (const [i, pem] of pems.entries()) theirs.push(await opensslKeyId(pem, `k${i}`));
    expect(ours).toEqual(theirs);
    expect(new Set(ours).size).toBe(pems.length);
  }, 120_000);
});

describe.each(TEST_ALGORITHMS)('a bundle of the old and the new CA (%s)', (algorithm) => {
  it('verifies a leaf of either CA whichever CA comes first (openssl verify -x509_strict)', async () => {
    const pki = await makePki(algorithm, '', ['{ name: m1, address: 127.0.3.1, roles: [etcd, master] }']);
    try {
      const old = { ca: await readFile(join(pki.dir, 'pki/ca.crt'), 'utf8'), leaf: join(scratch, `${algorithm}-old-apiserver.crt`) };
      await writeFile(old.leaf, await readFile(join(pki.dir, 'pki/apiserver.crt')));
      await generatePki(pki.model, pki.dir, { forceCa: true });
      const fresh = { ca: await readFile(join(pki.dir, 'pki/ca.crt'), 'utf8'), leaf: join(pki.dir, 'pki/apiserver.crt') };
      for (const [name, bundle] of [
        ['old-first', old.ca + fresh.ca],
        ['new-first', fresh.ca + old.ca],
      ] as const) {
        const file = join(scratch, `${algorithm}-${name}.pem`);
        await writeFile(file, bundle);
        for (const leaf of [old.leaf, fresh.leaf]) {
          const r = await run('openssl', ['verify', '-x509_strict', '-CAfile', file, leaf], { allowFailure: true });
          expect(r.stdout.trim() + r.stderr, `${name}: ${leaf}`).toBe(`${leaf}: OK`);
        }
      }
    } finally {
      await pki.cleanup();
    }
  }, 60_000);
});
