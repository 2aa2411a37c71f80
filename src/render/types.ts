// The contract between render (pure: model + PKI files + binaries in, per-host plan out) and
// deploy (applies the plan over SSH). Render owns this file; deploy and the `plan` command read it.
import type { ArchivedImage } from '../images/archive.js';
import type { Host } from '../inventory/model.js';

/** The cluster folder's files that render reads, keyed by path relative to the cluster folder
 * (e.g. `pki/ca.crt`, `pki/etcd/members/m1/server.key`, `kubeconfigs/admin.conf`). Loaded at the I/O edge. */
export type ClusterFiles = ReadonlyMap<string, Buffer>;

/** A binary from the binaries folder, hashed at the I/O edge so render stays pure. */
export interface LocalBinary {
  readonly name: string; // e.g. "kube-apiserver"
  readonly localPath: string;
  readonly size: number;
  readonly sha256: string;
}
export type BinaryIndex = ReadonlyMap<string, LocalBinary>;

export type ServicePhase = 'etcd' | 'control-plane' | 'node';

export interface PlannedFile {
  /** Absolute path on the host. */
  readonly path: string;
  readonly mode: number;
  readonly owner: string; // "root:root"
  /** Inline content (configs, certs, units) or a local file to stream (binaries). */
  readonly content: { readonly kind: 'inline'; readonly data: Buffer } | { readonly kind: 'local'; readonly localPath: string };
  readonly size: number;
  readonly sha256: string;
  /** Services (unit names) that must restart when this file changes. */
  readonly restarts: readonly string[];
  /** Services that take this file on a reload (`systemctl reload`), not a restart: kube-lb's config. */
  readonly reloads?: readonly string[];
}

export interface PlannedService {
  readonly unit: string; // "etcd.service"
  readonly phase: ServicePhase;
  /** Health probe the deploy waits for after starting the unit, if any: `https` from the deploying
   * machine (or from the host when it is not reachable directly), `on-host` on the host itself over SSH
   * (the component listens on 127.0.0.1; `ca`, a path on the host, verifies the server), `etcd` with etcdctl on the member. */
  readonly health?:
    | { readonly kind: 'https'; readonly url: string }
    | { readonly kind: 'on-host'; readonly url: string; readonly ca?: string }
    | { readonly kind: 'etcd' };
}

/** A file whose input does not exist yet: a PKI file `certs` makes, or a binary not yet in the binaries folder.
 * Only `plan` builds plans with these (to show a plan before the inputs exist); deploy refuses them. */
export interface PendingFile {
  readonly path: string;
  readonly mode: number;
  /** What the file is made from, e.g. `pki/ca.crt` or `binary kubelet`. */
  readonly from: string;
  readonly awaiting: 'pki' | 'binary' | 'environment';
}

/** An archive of `<binariesDir>/images/` on a kubelet host (also one of its files), imported into containerd by deploy. */
export interface PlannedImageArchive {
  /** Where it is uploaded on the host. */
  readonly path: string;
  /** Its file name in images/, for messages. */
  readonly file: string;
  readonly images: readonly ArchivedImage[];
}

export interface HostPlan {
  readonly host: Host;
  readonly files: readonly PlannedFile[];
  /** The image archives to import (kubelet hosts; none when images/ is empty). */
  readonly images?: readonly PlannedImageArchive[];
  /** Files whose inputs are missing (empty unless the plan was built with `allowMissing`). */
  readonly pending?: readonly PendingFile[];
  /** In start order within each phase. */
  readonly services: readonly PlannedService[];
  /** cluster.network.plugin bridge: the host's pod subnet, which deploy also sets as its Node's spec.podCIDR. */
  readonly podSubnet?: string;
}

export interface ClusterPlan {
  readonly hosts: readonly HostPlan[];
  /** Manifests applied once the API server is up (RBAC), with the admin kubeconfig. */
  readonly manifests: readonly { readonly name: string; readonly yaml: string }[];
}
