// Model hosts pointing at test-bed hosts, and files to upload.
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Host, SshSettings } from '../../../src/inventory/model.js';
import type { UploadItem } from '../../../src/ssh/types.js';
import type { Testbed } from '../../../src/lab/index.js';

export const modelHost = (tb: Testbed, name: string, ssh: Partial<SshSettings> = {}, address?: string): Host => {
  const bed = tb.hosts.find((h) => h.name === name);
  if (!bed) throw new Error(`no test-bed host ${name}`);
  return {
    name,
    address: address ?? bed.address,
    internalAddress: bed.address,
    roles: ['node'],
    labels: {},
    taints: [],
    ssh: {
      user: 'root',
      port: 22,
      identityFile: tb.privateKeyPath,
      useAgent: false,
      hostKeyPolicy: 'strict',
      connectTimeoutSeconds: 5,
      sudo: false,
      ...ssh,
    },
  };
};

export const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

export const inlineItem = (path: string, text: string, mode = 0o644, owner = 'root:root'): UploadItem => {
  const data = Buffer.from(text);
  return { path, mode, owner, sha256: sha256(data), size: data.length, source: { kind: 'inline', data } };
};

/** A file of random bytes, written and hashed in one pass. */
export const randomFile = async (localPath: string, size: number): Promise<{ sha256: string; size: number }> => {
  const hash = createHash('sha256');
  const out = createWriteStream(localPath);
  const chunk = 1 << 20;
  for (let written = 0; written < size; written += chunk) {
    const part = randomBytes(Math.min(chunk, size - written));
    hash.update(part);
    if (!out.write(part)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return { sha256: hash.digest('hex'), size };
};

export const localItem = (path: string, localPath: string, file: { sha256: string; size: number }, mode = 0o755): UploadItem => ({
  path,
  mode,
  owner: 'root:root',
  sha256: file.sha256,
  size: file.size,
  source: { kind: 'local', localPath },
});
