// What an image archive holds, read from its own index as `ctr images import` reads it: the image names and
// the digest `ctr images ls` will show for each, so deploy can tell an imported image from a missing one.
// OCI archives (index.json, oci-layout) state the digests; for docker archives (`docker save`'s manifest.json)
// containerd writes a Docker schema 2 manifest at import, which is computed here the same way.
import { createHash } from 'node:crypto';
import type { TarEntry } from './tar.js';

export interface ArchivedImage {
  /** As containerd names it after the import (docker archives' short names completed: docker.io/library/...). */
  readonly name: string;
  /** The manifest (or index) digest, `sha256:...`. */
  readonly digest: string;
}

export type ArchiveFormat = 'oci' | 'docker';

export interface ArchiveContent {
  readonly format: ArchiveFormat;
  readonly images: readonly ArchivedImage[];
}

/** Why a file is not an image archive kubeinstall can import (the caller names the file). */
export class NotAnImage extends Error {}

const MEDIA = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

/** containerd's own annotation for the name, then OCI's (image-spec annotations.md). */
const NAME_ANNOTATIONS = ['io.containerd.image.name', 'org.opencontainers.image.ref.name'] as const;

const DOCKER_DOMAIN = 'docker.io';

/**
 * A reference completed as the distribution reference library does (docker/distribution normalize.go): a first
 * component without `.` or `:` (and not `localhost`) is a Docker Hub path, a single Hub component is under
 * `library/`, no tag means `:latest`.
 */
export const normalizeImageName = (ref: string): string => {
  const slash = ref.indexOf('/');
  const first = slash < 0 ? '' : ref.slice(0, slash);
  const hasDomain = first !== '' && (first.includes('.') || first.includes(':') || first === 'localhost');
  let full = hasDomain ? ref : `${DOCKER_DOMAIN}/${ref}`;
  if (!hasDomain && slash < 0) full = `${DOCKER_DOMAIN}/library/${ref}`;
  const lastPart = full.slice(full.lastIndexOf('/') + 1);
  return lastPart.includes(':') || lastPart.includes('@') ? full : `${full}:latest`;
};

/** The registry host an image name is pulled from (`docker.io`, `registry.k8s.io`, `mirror:5000`). */
export const registryOf = (name: string): string => normalizeImageName(name).split('/')[0]!;

const parseJson = (entry: TarEntry | undefined, what: string): unknown => {
  if (!entry?.data) throw new NotAnImage(`${what} is missing or too large`);
  try {
    return JSON.parse(entry.data.toString('utf8'));
  } catch {
    throw new NotAnImage(`${what} is not JSON`);
  }
};

const blobPath = (digest: string): string => `blobs/${digest.replace(':', '/')}`;

interface Descriptor {
  readonly digest?: unknown;
  readonly annotations?: Readonly<Record<string, unknown>>;
}

const ociImages = (byName: ReadonlyMap<string, TarEntry>): ArchivedImage[] => {
  const index = parseJson(byName.get('index.json'), 'index.json') as { manifests?: unknown };
  if (!Array.isArray(index.manifests) || index.manifests.length === 0) throw new NotAnImage('index.json lists no manifests');
  return (index.manifests as Descriptor[]).map((m, i) => {
    const digest = typeof m.digest === 'string' ? m.digest : '';
    if (!/^sha256:[0-9a-f]{64}$/.test(digest)) throw new NotAnImage(`index.json manifests[${i}] has no sha256 digest`);
    if (!byName.has(blobPath(digest))) throw new NotAnImage(`index.json manifests[${i}]: ${blobPath(digest)} is not in the archive`);
    const name = NAME_ANNOTATIONS.map((a) => m.annotations?.[a]).find((n): n is string => typeof n === 'string' && n !== '');
    // `ctr import` names a tag-only ref.name `import-<date>:<tag>`, which no pod would ever ask for
    if (!name?.includes(':')) {
      throw new NotAnImage(
        `index.json manifests[${i}] has no full image name (${name ? `only "${name}"` : 'none'}): ` +
          `write it with a name such as registry.k8s.io/pause:3.10 in ${NAME_ANNOTATIONS.join(' or ')}`,
      );
    }
    return { name, digest };
  });
};

interface DockerManifest {
  readonly Config?: unknown;
  readonly RepoTags?: unknown;
  readonly Layers?: unknown;
}

const sha256 = (data: string): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;
const isGzip = (head: Buffer): boolean => head[0] === 0x1f && head[1] === 0x8b;

const member = (byName: ReadonlyMap<string, TarEntry>, path: unknown, what: string): TarEntry => {
  const entry = typeof path === 'string' ? byName.get(path.replace(/^(\.\/)+/, '')) : undefined;
  if (!entry) throw new NotAnImage(`manifest.json: ${what} ${JSON.stringify(path)} is not in the archive`);
  return entry;
};

/** The manifest containerd's importer writes for one docker-archive image, byte for byte (fields in Go's struct order). */
export const dockerManifest = (config: TarEntry, layers: readonly TarEntry[]): string =>
  JSON.stringify({
    schemaVersion: 2,
    mediaType: MEDIA.dockerManifest,
    config: { mediaType: MEDIA.dockerConfig, digest: `sha256:${config.sha256}`, size: config.size },
    layers: layers.map((l) => ({ mediaType: isGzip(l.head) ? MEDIA.dockerLayerGzip : MEDIA.dockerLayer, digest: `sha256:${l.sha256}`, size: l.size })),
  });

export const dockerManifestDigest = (config: TarEntry, layers: readonly TarEntry[]): string => sha256(dockerManifest(config, layers));

const dockerImages = (byName: ReadonlyMap<string, TarEntry>): ArchivedImage[] => {
  const manifests = parseJson(byName.get('manifest.json'), 'manifest.json');
  if (!Array.isArray(manifests) || manifests.length === 0) throw new NotAnImage('manifest.json lists no images');
  return (manifests as DockerManifest[]).flatMap((m, i) => {
    const config = member(byName, m.Config, `images[${i}].Config`);
    if (!Array.isArray(m.Layers)) throw new NotAnImage(`manifest.json images[${i}] has no Layers`);
    const layers = m.Layers.map((l, j) => member(byName, l, `images[${i}].Layers[${j}]`));
    const tags = Array.isArray(m.RepoTags) ? m.RepoTags.filter((t): t is string => typeof t === 'string') : [];
    if (!tags.length) throw new NotAnImage(`manifest.json images[${i}] has no RepoTags: ctr would import it without a name`);
    const digest = dockerManifestDigest(config, layers);
    return tags.map((t) => ({ name: normalizeImageName(t), digest }));
  });
};

/** The images an archive holds, as containerd will list them after `ctr images import`. */
export const archiveContent = (entries: readonly TarEntry[]): ArchiveContent => {
  const byName = new Map(entries.map((e) => [e.name, e]));
  // containerd reads an OCI layout when there is one (Docker 25+ saves both), else docker's manifest.json
  if (byName.has('oci-layout') || (byName.has('index.json') && !byName.has('manifest.json'))) return { format: 'oci', images: ociImages(byName) };
  if (byName.has('manifest.json')) return { format: 'docker', images: dockerImages(byName) };
  throw new NotAnImage('it has neither index.json (an OCI archive) nor manifest.json (a docker archive)');
};
