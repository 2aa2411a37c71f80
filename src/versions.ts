// The versions kubeinstall knows how to render and deploy. One place, read by validation,
// the starter inventory and the renderer's per-minor flag tables.

// Four minors ending with the newest whose official flag reference was read (assets/flags/<minor>/).
export const SUPPORTED_KUBERNETES_MINORS = ['1.32', '1.33', '1.34', '1.35'] as const;
export type KubernetesMinor = (typeof SUPPORTED_KUBERNETES_MINORS)[number];
export const DEFAULT_KUBERNETES_VERSION = '1.34.2';

export const SUPPORTED_ETCD_MINORS = ['3.4', '3.5', '3.6'] as const;
export const DEFAULT_ETCD_VERSION = '3.5.21';

export const minorOf = (version: string): string => version.split('.').slice(0, 2).join('.');

// What each Kubernetes minor needs from the host and from the binaries it does not ship; preflight
// compares these with the facts and with the binaries' own --version. One table per fact.

/**
 * The containerd releases containerd recommends for each Kubernetes minor: per containerd minor, the
 * lowest patch. containerd/containerd RELEASES.md, "Kubernetes Support" (main, commit 301026e5, 2026-08).
 * A containerd minor the row does not list (e.g. Debian 12's 1.6.20 for 1.35, or 1.6 below 1.6.36) fails.
 */
export const CONTAINERD_FOR_KUBERNETES: Readonly<Record<KubernetesMinor, readonly string[]>> = {
  '1.32': ['2.1.0', '2.0.1', '1.7.24', '1.6.36'],
  '1.33': ['2.1.0', '2.0.4', '1.7.24', '1.6.36'],
  '1.34': ['2.1.3', '2.0.6', '1.7.28', '1.6.39'],
  '1.35': ['2.2.0', '2.1.5', '1.7.28'],
};

/**
 * The etcd minor kubeadm runs with each Kubernetes minor: `SupportedEtcdVersion` in kubeadm's
 * cmd/kubeadm/app/constants/constants.go (release-1.32: 1.29-1.32 -> 3.5.24; later branches: 1.33 -> 3.5.24,
 * 1.34 -> 3.6.5; master: 1.34-1.36 -> 3.6.x). Another etcd minor at or above MIN_ETCD_VERSION works, with a warning.
 */
export const ETCD_FOR_KUBERNETES: Readonly<Record<KubernetesMinor, string>> = { '1.32': '3.5', '1.33': '3.5', '1.34': '3.6', '1.35': '3.6' };

/** kubeadm's `MinExternalEtcdVersion` (same file, release-1.32 to master): the oldest etcd it accepts at all. */
export const MIN_ETCD_VERSION = '3.5.24';

/**
 * What the kubelet does on a cgroup v1 host: from 1.35 it refuses to start (`failCgroupV1` defaults to
 * true, KEP-5573, kubernetes/kubernetes#134298); before, v1 is in maintenance mode and only warned about.
 */
export const CGROUP_V1_SEVERITY: Readonly<Record<KubernetesMinor, 'warning' | 'error'>> = {
  '1.32': 'warning',
  '1.33': 'warning',
  '1.34': 'warning',
  '1.35': 'error',
};

/** `major.minor.patch` compared numerically; -1, 0 or 1. */
export const compareVersions = (a: string, b: string): number => {
  const [x, y] = [a, b].map((v) => v.split('.').map(Number));
  for (let i = 0; i < 3; i++) if (x![i] !== y![i]) return (x![i] ?? 0) < (y![i] ?? 0) ? -1 : 1;
  return 0;
};

/** The versions of what a node runs beside the Kubernetes binaries, which the inventory does not name. */
export interface NodeToolVersions {
  readonly containerd: string;
  readonly runc: string;
  readonly cniPlugins: string;
  readonly crictl: string;
}

/**
 * What `binaries fetch` downloads for each Kubernetes minor. containerd: a release in CONTAINERD_FOR_KUBERNETES's
 * row (so the `containerd-version` preflight passes); runc: the 1.3 line containerd 2.1/2.2 are tested with
 * (containerd's script/setup/runc-version); crictl: cri-tools releases one minor per Kubernetes minor
 * (kubernetes-sigs/cri-tools README, "Compatibility matrix"); CNI plugins: the newest release when written.
 */
export const NODE_TOOLS_FOR_KUBERNETES: Readonly<Record<KubernetesMinor, NodeToolVersions>> = {
  '1.32': { containerd: '2.1.4', runc: '1.3.3', cniPlugins: '1.8.0', crictl: '1.32.0' },
  '1.33': { containerd: '2.1.4', runc: '1.3.3', cniPlugins: '1.8.0', crictl: '1.33.0' },
  '1.34': { containerd: '2.1.4', runc: '1.3.3', cniPlugins: '1.8.0', crictl: '1.34.0' },
  '1.35': { containerd: '2.2.0', runc: '1.3.3', cniPlugins: '1.8.0', crictl: '1.35.0' },
};

/** Where kubeadm names its images from (cluster.imageRepository's default). */
export const DEFAULT_IMAGE_REPOSITORY = 'registry.k8s.io';

/** The tags of the cluster images kubeinstall needs beside the binaries, per minor. */
export interface ClusterImageTags {
  /** containerd's sandbox (pause) image. */
  readonly pause: string;
  readonly coredns: string;
}

/**
 * The pause and CoreDNS tags kubeadm uses with each Kubernetes minor: `PauseVersion` and `CoreDNSVersion` in
 * kubeadm's cmd/kubeadm/app/constants/constants.go on each release branch (release-1.32: 3.10, v1.11.3;
 * release-1.33: 3.10, v1.12.0; release-1.34: 3.10.1, v1.12.1; release-1.35: 3.10.1, v1.13.1).
 */
export const CLUSTER_IMAGE_TAGS: Readonly<Record<KubernetesMinor, ClusterImageTags>> = {
  '1.32': { pause: '3.10', coredns: 'v1.11.3' },
  '1.33': { pause: '3.10', coredns: 'v1.12.0' },
  '1.34': { pause: '3.10.1', coredns: 'v1.12.1' },
  '1.35': { pause: '3.10.1', coredns: 'v1.13.1' },
};
