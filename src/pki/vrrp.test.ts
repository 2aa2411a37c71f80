import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseVrrpPassword, VRRP_PASSWORD_FILE, vrrpPasswordFile } from './vrrp.js';

describe('VRRP password', () => {
  let dir: string;
  beforeEach(async () => void (dir = await mkdtemp(join(tmpdir(), 'kubeinstall-vrrp-'))));
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('is made once: 8 letters and digits (what VRRPv2 carries), 0600, and kept by the next run', async () => {
    const made = await vrrpPasswordFile(dir);
    expect(made).toMatchObject({ path: VRRP_PASSWORD_FILE, mode: 0o600 });
    expect(made.data).toMatch(/^[A-Za-z0-9]{8}\n$/);
    await mkdir(join(dir, 'pki'));
    await writeFile(join(dir, VRRP_PASSWORD_FILE), made.data);
    expect((await vrrpPasswordFile(dir)).data).toBe(made.data);
  });

  it('refuses a file that is not a password, without printing it', async () => {
    await mkdir(join(dir, 'pki'));
    await writeFile(join(dir, VRRP_PASSWORD_FILE), 'much-too-long-secret\n');
    await expect(vrrpPasswordFile(dir)).rejects.toThrow(/is not 8 letters and digits/);
    await expect(vrrpPasswordFile(dir)).rejects.not.toThrow(/much-too-long-secret/);
    expect(parseVrrpPassword('much-too-long-secret')).toBeUndefined();
  });
});
