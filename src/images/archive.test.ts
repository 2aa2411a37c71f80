import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { busyboxImage, pauseImage, writeTestImage } from '../../test/images/test-image.js';
import { archiveContent, dockerManifestDigest, normalizeImageName, registryOf } from './archive.js';
import { imageCacheFile, indexImages } from './load.js';
import type { TarEntry } from './tar.js';

const dir = mkdtempSync(join(tmpdir(), 'ki-archive-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const binaries = (name: string): string => {
  const b = join(dir, name);
  mkdirSync(join(b, 'images'), { recursive: true });
  return b;
};

/** A tar of these files (names as given), made by GNU tar as a user would. */
const tarOf = (out: string, files: Readonly<Record<string, string | Buffer>>): void => {
  const src = mkdtempSync(join(dir, 'src-'));
  for (const [name, data] of Object.entries(files)) {
    mkdirSync(join(src, name, '..'), { recursive: true });
    writeFileSync(join(src, name), data);
  }
  execFileSync('tar', ['-C', src, '-cf', out, ...Object.keys(files)]);
};

const entry = (name: string, data: Buffer): TarEntry => ({
  name,
  size: data.length,
  sha256: createHash('sha256').update(data).digest('hex'),
  head: data.subarray(0, 8),
  data,
});

describe('image archives', () => {
  it('docker archives: names completed as containerd does, the manifest digest containerd 1.6 lists (measured with ctr import)', async () => {
    const b = binaries('docker');
    writeTestImage(pauseImage('registry.k8s.io/pause:3.10.1'), join(b, 'images/pause.tar'));
    writeTestImage(busyboxImage('busybox:test'), join(b, 'images/busybox.tar'));
    const index = await indexImages(b);
    expect(index.map((a) => [a.file, a.format, a.images])).toEqual([
      ['busybox.tar', 'docker', [{ name: 'docker.io/library/busybox:test', digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) }]],
      // `ctr -n k8s.io images ls` after `ctr images import` of this very archive (containerd 1.6.20)
      ['pause.tar', 'docker', [{ name: 'registry.k8s.io/pause:3.10.1', digest: 'sha256:ee8edfbfc07e8232f94e8286b0bbab5ec54429bf8e960839247738b62046669a' }]],
    ]);
    expect(index[1]!.sha256).toBe(execFileSync('sha256sum', [join(b, 'images/pause.tar')], { encoding: 'utf8' }).split(' ')[0]);
  });

  it('an OCI archive states its digests; a gzip layer changes the docker media type', () => {
    const manifest = Buffer.from('{"schemaVersion":2}');
    const digest = `sha256:${entry('m', manifest).sha256}`;
    const index = (name: string) => ({
      schemaVersion: 2,
      manifests: [
        { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: manifest.length, annotations: { 'org.opencontainers.image.ref.name': name } },
      ],
    });
    const oci = (name: string) => [
      entry('oci-layout', Buffer.from('{"imageLayoutVersion":"1.0.0"}')),
      entry('index.json', Buffer.from(JSON.stringify(index(name)))),
      entry(`blobs/sha256/${digest.slice(7)}`, manifest),
    ];
    expect(archiveContent(oci('example.org/x/pause:oci'))).toEqual({ format: 'oci', images: [{ name: 'example.org/x/pause:oci', digest }] });
    // ctr would call it import-<date>:3.10, which no pod asks for
    expect(() => archiveContent(oci('3.10'))).toThrow(/manifests\[0\] has no full image name \(only "3.10"\)/);
    const config = entry('c.json', Buffer.from('{}'));
    const plain = entry('l/layer.tar', Buffer.from('layer'));
    const gzip = entry('l/layer.tar', Buffer.from([0x1f, 0x8b, 8, 0, 0, 0]));
    expect(dockerManifestDigest(config, [plain])).not.toBe(dockerManifestDigest(config, [gzip]));
  });

  it('a file that is not an image archive: an invalid input (exit 2) naming the file and why', async () => {
    const b = binaries('bad');
    writeFileSync(join(b, 'images/notes.tar'), 'not a tar at all\n'.repeat(64));
    await expect(indexImages(b)).rejects.toMatchObject({
      exitCode: 2,
      message: `${join(b, 'images/notes.tar')} is not an image archive: no tar header at its start`,
    });
    tarOf(join(b, 'images/notes.tar'), { 'README.txt': 'hello' });
    await expect(indexImages(b)).rejects.toThrow(/notes\.tar is not an image archive: it has neither index\.json \(an OCI archive\) nor manifest\.json/);
    tarOf(join(b, 'images/notes.tar'), { 'manifest.json': '[{"Config":"missing.json","RepoTags":["x:1"],"Layers":[]}]' });
    await expect(indexImages(b)).rejects.toThrow(/manifest\.json: images\[0\]\.Config "missing\.json" is not in the archive/);
  });

  it('two archives naming the same image are refused; an unchanged archive is not read again (cache by file identity)', async () => {
    const b = binaries('twice');
    writeTestImage(pauseImage('registry.k8s.io/pause:3.10.1'), join(b, 'images/a.tar'));
    writeTestImage(pauseImage('registry.k8s.io/pause:3.10.1'), join(b, 'images/b.tar'));
    await expect(indexImages(b)).rejects.toThrow(/registry\.k8s\.io\/pause:3\.10\.1 is in both a\.tar and b\.tar; keep one/);
    rmSync(join(b, 'images/b.tar'));
    const cache = imageCacheFile(join(dir, 'cluster'));
    const first = await indexImages(b, cache);
    // the cached entry is what a second run uses: poison it and see it come back unread
    const cached = JSON.parse(readFileSync(cache, 'utf8'));
    cached[join(b, 'images/a.tar')].content.images[0].name = 'from-cache';
    writeFileSync(cache, JSON.stringify(cached));
    expect((await indexImages(b, cache))[0]!.images[0]!.name).toBe('from-cache');
    expect(first[0]!.images[0]!.name).toBe('registry.k8s.io/pause:3.10.1');
  });

  it('completes names as the distribution reference library does', () => {
    expect(normalizeImageName('busybox')).toBe('docker.io/library/busybox:latest');
    expect(normalizeImageName('busybox:1.36')).toBe('docker.io/library/busybox:1.36');
    expect(normalizeImageName('calico/node:v3')).toBe('docker.io/calico/node:v3');
    expect(normalizeImageName('registry.k8s.io/pause:3.10')).toBe('registry.k8s.io/pause:3.10');
    expect(normalizeImageName('localhost/x')).toBe('localhost/x:latest');
    expect(normalizeImageName('mirror:5000/k8s/pause@sha256:abc')).toBe('mirror:5000/k8s/pause@sha256:abc');
    expect(registryOf('busybox')).toBe('docker.io');
    expect(registryOf('198.18.61.1:5000/test/busybox:1')).toBe('198.18.61.1:5000');
  });
});
