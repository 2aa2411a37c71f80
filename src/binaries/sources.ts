// Where each binary of ROLE_BINARIES is published, as one table of releases: the file to download, the
// checksum file published beside it, and what to install from it into the binaries folder. Pure.
//
// Upstream layouts (checked against install scripts and release pages, 2026-12):
// - Kubernetes: https://dl.k8s.io/release/v<ver>/bin/linux/<arch>/<binary>, the bare hex digest in
//   <binary>.sha256 beside it (kubernetes.io "Install and Set Up kubectl on Linux", "Validate the binary").
// - etcd: github.com/etcd-io/etcd/releases/download/v<ver>/etcd-v<ver>-linux-<arch>.tar.gz, one folder
//   etcd-v<ver>-linux-<arch>/ holding etcd, etcdctl, etcdutl; `sha256sum` lines for every asset in SHA256SUMS.
// - containerd: github.com/containerd/containerd/releases/download/v<ver>/containerd-<ver>-linux-<arch>.tar.gz
//   (bin/containerd, bin/containerd-shim-runc-v2, bin/ctr, ...), `sha256sum` line in <file>.sha256sum.
// - runc: github.com/opencontainers/runc/releases/download/v<ver>/runc.<arch>, lines for every asset in runc.sha256sum.
// - CNI plugins: github.com/containernetworking/plugins/releases/download/v<ver>/cni-plugins-linux-<arch>-v<ver>.tgz
//   (the plugins at the top level), `sha256sum` line in <file>.sha256.
// - crictl: github.com/kubernetes-sigs/cri-tools/releases/download/v<ver>/crictl-v<ver>-linux-<arch>.tar.gz
//   (crictl at the top level), digest in <file>.sha256.
import { runsKubelet, type ClusterModel } from '../inventory/model.js';
import { requiredBinaries } from '../render/binaries.js';
import { NODE_TOOLS_FOR_KUBERNETES, type KubernetesMinor } from '../versions.js';

/** Release architectures (Go's names, which every upstream above uses in its file names). */
export const ARCHITECTURES = ['amd64', 'arm64'] as const;
export type Arch = (typeof ARCHITECTURES)[number];

/** The hosts serving the releases; a mirror replaces them and keeps the paths. */
export const UPSTREAMS = { kubernetes: 'https://dl.k8s.io', github: 'https://github.com' } as const;
export type Upstream = keyof typeof UPSTREAMS;

/** Where the CNI plugins go inside the binaries folder (deploy uploads them for cluster.network.plugin bridge). */
export const CNI_FOLDER = 'cni';

export interface Install {
  /** Path inside the archive; absent for a plain file. `dir/` (or `./`) installs every file of that folder. */
  readonly member?: string;
  /** Path under the binaries folder (a folder when member ends with `/`). */
  readonly to: string;
}

export interface Artifact {
  /** A name with the version and architecture in it: of the partial download, and of a kept archive. */
  readonly file: string;
  /** The name the checksum file lists it under (unused when that file holds a bare digest). */
  readonly checksumName: string;
  readonly upstream: Upstream;
  /** URL path on the upstream host (and on a mirror). */
  readonly path: string;
  readonly checksumPath: string;
  readonly archive: boolean;
  readonly installs: readonly Install[];
}

export interface FetchVersions {
  readonly kubernetes: string;
  readonly etcd: string;
  readonly containerd: string;
  readonly runc: string;
  readonly cniPlugins: string;
  readonly crictl: string;
}

export const fetchVersions = (model: Pick<ClusterModel, 'kubernetesVersion' | 'kubernetesMinor' | 'etcdVersion'>): FetchVersions => ({
  kubernetes: model.kubernetesVersion,
  etcd: model.etcdVersion,
  ...NODE_TOOLS_FOR_KUBERNETES[model.kubernetesMinor as KubernetesMinor],
});

const github = (repo: string, tag: string, file: string, checksumFile: string) => ({
  upstream: 'github' as const,
  file,
  checksumName: file,
  path: `/${repo}/releases/download/${tag}/${file}`,
  checksumPath: `/${repo}/releases/download/${tag}/${checksumFile}`,
});

interface Release {
  /** Names (of ROLE_BINARIES, or of the node extras) this release provides. */
  readonly provides: readonly string[];
  /** The artifacts giving `names` (a subset of provides). */
  readonly artifacts: (v: FetchVersions, arch: Arch, names: readonly string[]) => Artifact[];
}

export const RELEASES: readonly Release[] = [
  {
    provides: ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubectl', 'kubelet', 'kube-proxy'],
    artifacts: (v, arch, names) =>
      names.map((name) => {
        const path = `/release/v${v.kubernetes}/bin/linux/${arch}/${name}`;
        return {
          upstream: 'kubernetes',
          file: `${name}-v${v.kubernetes}-linux-${arch}`,
          checksumName: name,
          path,
          checksumPath: `${path}.sha256`,
          archive: false,
          installs: [{ to: name }],
        };
      }),
  },
  {
    provides: ['etcd', 'etcdctl'],
    artifacts: (v, arch, names) => {
      const folder = `etcd-v${v.etcd}-linux-${arch}`;
      return [
        {
          ...github('etcd-io/etcd', `v${v.etcd}`, `${folder}.tar.gz`, 'SHA256SUMS'),
          archive: true,
          installs: names.map((n) => ({ member: `${folder}/${n}`, to: n })),
        },
      ];
    },
  },
  {
    provides: ['containerd', 'containerd-shim-runc-v2', 'ctr'],
    artifacts: (v, arch, names) => {
      const file = `containerd-${v.containerd}-linux-${arch}.tar.gz`;
      return [
        {
          ...github('containerd/containerd', `v${v.containerd}`, file, `${file}.sha256sum`),
          archive: true,
          installs: names.map((n) => ({ member: `bin/${n}`, to: n })),
        },
      ];
    },
  },
  {
    provides: ['runc'],
    artifacts: (v, arch) => [
      {
        ...github('opencontainers/runc', `v${v.runc}`, `runc.${arch}`, 'runc.sha256sum'),
        file: `runc-v${v.runc}.${arch}`,
        archive: false,
        installs: [{ to: 'runc' }],
      },
    ],
  },
  {
    provides: ['crictl'],
    artifacts: (v, arch) => {
      const file = `crictl-v${v.crictl}-linux-${arch}.tar.gz`;
      return [
        { ...github('kubernetes-sigs/cri-tools', `v${v.crictl}`, file, `${file}.sha256`), archive: true, installs: [{ member: 'crictl', to: 'crictl' }] },
      ];
    },
  },
  {
    provides: [`${CNI_FOLDER}/`],
    artifacts: (v, arch) => {
      const file = `cni-plugins-linux-${arch}-v${v.cniPlugins}.tgz`;
      return [
        {
          ...github('containernetworking/plugins', `v${v.cniPlugins}`, file, `${file}.sha256`),
          archive: true,
          installs: [{ member: './', to: `${CNI_FOLDER}/` }],
        },
      ];
    },
  },
];

/** What a node needs beside ROLE_BINARIES (crictl for operators; the CNI plugins for the bridge network, src/render/pod-network.ts). */
export const NODE_EXTRAS = ['crictl', `${CNI_FOLDER}/`] as const;

/** Every artifact the model's hosts need, for one architecture, in table order. */
export const artifactsFor = (model: Pick<ClusterModel, 'hosts' | 'kubernetesVersion' | 'kubernetesMinor' | 'etcdVersion'>, arch: Arch): Artifact[] => {
  const needed = new Set(requiredBinaries(model.hosts).keys());
  if (model.hosts.some(runsKubelet)) for (const extra of NODE_EXTRAS) needed.add(extra);
  const versions = fetchVersions(model);
  return RELEASES.flatMap((r) => {
    const names = r.provides.filter((n) => needed.has(n));
    return names.length > 0 ? r.artifacts(versions, arch, names) : [];
  });
};

/** The URL of a path on its upstream, or on a mirror with the same layout (any path prefix kept). */
export const urlFor = (upstream: Upstream, path: string, mirror?: URL): URL =>
  mirror ? new URL(mirror.href.replace(/\/*$/, '') + path) : new URL(UPSTREAMS[upstream] + path);
