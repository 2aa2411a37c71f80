// The kube-apiserver stand-in (test/standins) refuses what the rendered flags must never hold, as the
// deploy end-to-end tests rely on it: a --kubelet-certificate-authority (or other CA flag) that is not a
// CA, an EncryptionConfiguration the real server rejects. It checks them before it needs etcd, so each
// case runs here in a second; "accepted" means it went on to its next check (--etcd-servers).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadInventoryText } from '../../../src/inventory/load.js';
import { ENCRYPTION_KEY_FILE } from '../../../src/pki/encryption.js';
import { generatePki } from '../../../src/pki/generate.js';
import { renderEncryptionConfig } from '../../../src/render/encryption.js';
import { readClusterFiles } from '../../../src/render/load.js';
import { buildStandins } from '../../standins/build.js';

const work = mkdtempSync(join(tmpdir(), 'kubeinstall-apiserver-standin-'));
const cluster = join(work, 'cluster');

const apiserver = (...flags: string[]) => {
  const r = spawnSync(join(work, 'kube-apiserver'), flags, { encoding: 'utf8', timeout: 10_000 });
  return { code: r.status, stderr: r.stderr.trim() };
};
const ACCEPTED = { code: 1, stderr: 'E kube-apiserver: --etcd-servers is required' };

beforeAll(async () => {
  await buildStandins(work, '1.34.2');
  const { model } = loadInventoryText(
    'cluster:\n  name: s\n  keyAlgorithm: ecdsa-p256\nhosts:\n  - { name: m1, address: 127.0.7.11, roles: [etcd, master] }\n',
    join(work, 'inventory.yaml'),
  );
  await generatePki(model, cluster);
  const files = await readClusterFiles(cluster);
  writeFileSync(join(work, 'encryption-config.yaml'), renderEncryptionConfig(files.get(ENCRYPTION_KEY_FILE)!));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('kube-apiserver stand-in', () => {
  it('accepts the cluster CA as --kubelet-certificate-authority and refuses a serving certificate there', () => {
    expect(apiserver(`--kubelet-certificate-authority=${cluster}/pki/ca.crt`)).toEqual(ACCEPTED);
    const leaf = apiserver(`--kubelet-certificate-authority=${cluster}/pki/apiserver.crt`);
    expect(leaf).toEqual({ code: 1, stderr: `E kube-apiserver: --kubelet-certificate-authority=${cluster}/pki/apiserver.crt: holds no CA certificate` });
    expect(apiserver(`--kubelet-certificate-authority=${cluster}/pki/missing.crt`).stderr).toMatch(/no such file/);
  });

  it('accepts the rendered EncryptionConfiguration and refuses an aescbc key that is not 32 bytes', () => {
    expect(apiserver(`--encryption-provider-config=${join(work, 'encryption-config.yaml')}`)).toEqual(ACCEPTED);
    const bad = join(work, 'bad-encryption-config.yaml');
    writeFileSync(
      bad,
      [
        'apiVersion: apiserver.config.k8s.io/v1',
        'kind: EncryptionConfiguration',
        'resources:',
        '  - resources:',
        '      - secrets',
        '    providers:',
        '      - aescbc:',
        '          keys:',
        '            - name: key1',
        `              secret: ${Buffer.alloc(16).toString('base64')}`,
        '',
      ].join('\n'),
    );
    expect(apiserver(`--encryption-provider-config=${bad}`).stderr).toBe(`E kube-apiserver: ${bad}: aescbc key key1: 16 bytes; aescbc keys are 32`);
  });
});
