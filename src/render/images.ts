// The images a cluster needs beside its binaries, named as containerd and the manifests refer to them:
// the repository from the inventory (a mirror may rename it), the tags from the Kubernetes minor.
import type { ClusterModel } from '../inventory/model.js';
import { CLUSTER_IMAGE_TAGS, type KubernetesMinor } from '../versions.js';

export interface ClusterImages {
  /** containerd's sandbox_image: every pod needs it, so every kubelet host must have it. */
  readonly pause: string;
  readonly coredns: string;
}

export const clusterImages = (model: Pick<ClusterModel, 'kubernetesMinor' | 'imageRepository'>): ClusterImages => {
  const tags = CLUSTER_IMAGE_TAGS[model.kubernetesMinor as KubernetesMinor];
  // validation admits only supported minors, so a missing row is a programming error
  if (!tags) throw new Error(`no image tags for Kubernetes ${model.kubernetesMinor}`);
  return {
    pause: `${model.imageRepository}/pause:${tags.pause}`,
    coredns: `${model.imageRepository}/coredns/coredns:${tags.coredns}`,
  };
};
