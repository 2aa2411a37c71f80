import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadInventoryText } from '../inventory/load.js';
import { KubeinstallError } from '../util/errors.js';
import { ENCRYPTION_KEY_FILE, parseEncryptionKey } from './encryption.js';
import { generatePki } from './generate.js';

const model = (hosts: string) => loadInventoryText(`cluster:\n  name: t\n  keyAlgorithm: ecdsa-p256\nhosts:\n${hosts}`, '/x/inventory.yaml').model;
const withMaster = model('  - { name: m1, address: 127.0.7.1, roles: [etcd, master] }\n  - { name: n1, address: 127.0.7.2, roles: [node] }\n');
const etcdOnly = model('  - { name: e1, address: 127.0.7.3, roles: [etcd] }\n');

let dir: string;
beforeEach(async () => void (dir = await mkdtemp(join(tmpdir(), 'kubeinstall-pki-enc-'))));
afterEach(async () => rm(dir, { recursive: true, force: true }));
const keyPath = () => join(dir, ENCRYPTION_KEY_FILE);

describe('the Secrets encryption key', () => {
  it('is made by certs: 32 random bytes, base64, 0600', async () => {
    const report = await generatePki(withMaster, dir);
    expect(report.written).toContain(ENCRYPTION_KEY_FILE);
    const text = await readFile(keyPath(), 'utf8');
    expect(parseEncryptionKey(text)).toHaveLength(32);
    expect(Buffer.from(text.trim(), 'base64')).not.toEqual(Buffer.alloc(32));
    expect((await stat(keyPath())).mode & 0o777).toBe(0o600);
  });

  it('is kept by a re-run, and a drifted mode is put back to 0600', async () => {
    await generatePki(withMaster, dir);
    const first = await readFile(keyPath(), 'utf8');
    expect((await generatePki(withMaster, dir)).written).not.toContain(ENCRYPTION_KEY_FILE);
    await chmod(keyPath(), 0o644);
    expect((await generatePki(withMaster, dir)).written).toContain(ENCRYPTION_KEY_FILE);
    expect(await readFile(keyPath(), 'utf8')).toBe(first);
    expect((await stat(keyPath())).mode & 0o777).toBe(0o600);
  });

  it('is never replaced when unreadable: certs stops naming the file, before writing anything', async () => {
    await generatePki(withMaster, dir);
    const ca = await readFile(join(dir, 'pki/ca.crt'), 'utf8');
    await writeFile(keyPath(), 'dG9vIHNob3J0\n', { mode: 0o600 }); // 9 bytes
    const attempt = generatePki(withMaster, dir, { forceCa: true });
    await expect(attempt).rejects.toThrow(KubeinstallError);
    await expect(attempt).rejects.toThrow(`${keyPath()} is not a base64-encoded 32-byte key`);
    expect(await readFile(keyPath(), 'utf8')).toBe('dG9vIHNob3J0\n');
    expect(await readFile(join(dir, 'pki/ca.crt'), 'utf8')).toBe(ca);
  });

  it('is not made for a cluster without masters', async () => {
    const report = await generatePki(etcdOnly, dir);
    expect(report.written).not.toContain(ENCRYPTION_KEY_FILE);
    await expect(stat(keyPath())).rejects.toThrow(/ENOENT/);
  });
});
