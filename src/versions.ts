// The versions kubeinstall knows how to render and deploy. One place, read by validation,
// the starter inventory and the renderer's per-minor flag tables.

// Four minors ending with the newest whose official flag reference was read (assets/flags/<minor>/).
export const SUPPORTED_KUBERNETES_MINORS = ['1.32', '1.33', '1.34', '1.35'] as const;
export type KubernetesMinor = (typeof SUPPORTED_KUBERNETES_MINORS)[number];
export const DEFAULT_KUBERNETES_VERSION = '1.34.2';

export const SUPPORTED_ETCD_MINORS = ['3.4', '3.5', '3.6'] as const;
export const DEFAULT_ETCD_VERSION = '3.5.21';

export const minorOf = (version: string): string => version.split('.').slice(0, 2).join('.');
