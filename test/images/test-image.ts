// Tiny container images for tests, made from Debian's busybox-static (no registry here): docker-archive tars
// that `ctr images import` reads. Deterministic (fixed mtimes, owners, order), so the same image always has
// the same digest and a re-run of deploy finds it already imported.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, copyFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Debian's busybox-static: one static binary, so the image needs no libraries. */
export const BUSYBOX = '/bin/busybox';
/** The applets the tests' containers use (busybox wget crashes in these hosts: use nc). */
const APPLETS = ['sh', 'sleep', 'nc', 'ip', 'cat', 'echo', 'hostname', 'ls', 'ps', 'wget', 'httpd', 'true'] as const;

export interface TestImage {
  /** e.g. registry.k8s.io/pause:3.10.1 */
  readonly ref: string;
  /** What the container runs. */
  readonly entrypoint: readonly string[];
}

/** A pause stand-in: the real pause binary only sleeps until signalled, as this does. */
export const pauseImage = (ref: string): TestImage => ({ ref, entrypoint: ['/bin/sleep', 'infinity'] });
export const busyboxImage = (ref: string): TestImage => ({ ref, entrypoint: ['/bin/sh'] });

const DETERMINISTIC_TAR = ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '--format=gnu'];
const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

/** Writes `image` as a docker-archive tar at `outTar`; returns the config digest (the image id containerd shows). */
export const writeTestImage = (image: TestImage, outTar: string): string => {
  const work = mkdtempSync(join(tmpdir(), 'ki-image-'));
  try {
    const rootfs = join(work, 'rootfs');
    mkdirSync(join(rootfs, 'bin'), { recursive: true });
    for (const dir of ['tmp', 'proc', 'sys', 'dev', 'etc']) mkdirSync(join(rootfs, dir));
    copyFileSync(BUSYBOX, join(rootfs, 'bin/busybox'));
    for (const applet of APPLETS) symlinkSync('busybox', join(rootfs, 'bin', applet));
    const layer = join(work, 'layer.tar');
    execFileSync('tar', ['-C', rootfs, ...DETERMINISTIC_TAR, '-cf', layer, '.']);
    const layerDigest = sha256(readFileSync(layer));
    const config = JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Entrypoint: image.entrypoint, Env: ['PATH=/bin'] },
      rootfs: { type: 'layers', diff_ids: [`sha256:${layerDigest}`] },
    });
    const configDigest = sha256(config);
    const archive = join(work, 'archive');
    mkdirSync(join(archive, layerDigest), { recursive: true });
    copyFileSync(layer, join(archive, layerDigest, 'layer.tar'));
    writeFileSync(join(archive, `${configDigest}.json`), config);
    writeFileSync(
      join(archive, 'manifest.json'),
      JSON.stringify([{ Config: `${configDigest}.json`, RepoTags: [image.ref], Layers: [`${layerDigest}/layer.tar`] }]),
    );
    execFileSync('tar', ['-C', archive, ...DETERMINISTIC_TAR, '-cf', outTar, '.']);
    return `sha256:${configDigest}`;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
};
