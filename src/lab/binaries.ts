// The lab's binaries folder: etcd, etcdctl, containerd, runc, ctr and the CNI plugins from this machine's
// Debian packages; the Kubernetes components only from a folder the operator gives (never stand-ins), which
// may also hold newer etcd or containerd than Debian's (they then win).
import { ROLE_BINARIES } from '../render/binaries.js';

/** Binaries this machine's packages provide, with the package. */
export const MACHINE_BINARIES: readonly { readonly name: string; readonly apt: string }[] = [
  { name: 'etcd', apt: 'etcd-server' },
  { name: 'etcdctl', apt: 'etcd-client' },
  { name: 'containerd', apt: 'containerd' },
  { name: 'containerd-shim-runc-v2', apt: 'containerd' },
  { name: 'ctr', apt: 'containerd' },
  { name: 'runc', apt: 'runc' },
];
/** Debian's reference CNI plugins, copied to the binaries folder's `cni/`. */
export const MACHINE_CNI = { dir: '/usr/lib/cni', apt: 'containernetworking-plugins' } as const;
/** Installed (with consent or --yes) when the machine has no etcd: an etcd-only lab needs nothing else. */
export const ETCD_PACKAGES = ['etcd-server', 'etcd-client'] as const;

/** Every binary a lab may put in its folder: the roles' and the machine's (ctr). */
const KNOWN = [...new Set([...Object.values(ROLE_BINARIES).flatMap((specs) => specs.map((b) => b.name)), ...MACHINE_BINARIES.map((b) => b.name)])];

export interface BinaryPlan {
  /** name -> the file copied under that name. */
  readonly copies: ReadonlyMap<string, string>;
  /** One message per binary deploy needs that neither source has. */
  readonly missing: readonly string[];
}

/**
 * `required`: what deploy needs for the lab's roles; `given`: the files of --binaries (name -> path);
 * `machine`: this machine's binaries found on PATH. Binaries nobody requires are copied when there.
 */
export const planBinaries = (
  required: ReadonlySet<string>,
  given: ReadonlyMap<string, string>,
  machine: ReadonlyMap<string, string>,
  givenDir: string | undefined,
): BinaryPlan => {
  const copies = new Map<string, string>();
  const missing: string[] = [];
  for (const name of KNOWN) {
    const from = given.get(name) ?? machine.get(name);
    if (from) copies.set(name, from);
    else if (required.has(name)) {
      const apt = MACHINE_BINARIES.find((b) => b.name === name)?.apt;
      missing.push(
        apt
          ? `${name} not found: apt-get install ${apt}${givenDir ? ` (or put it in ${givenDir})` : ''}`
          : givenDir
            ? `${name} is not in ${givenDir}`
            : `${name}: masters and nodes need the Kubernetes binaries, from --binaries DIR (a folder as \`kubeinstall binaries fetch\` fills)`,
      );
    }
  }
  return { copies, missing };
};
