// The lab's inventory: its hosts, the generated key, strict host keys (pinned in the cluster folder's
// known_hosts), cluster ranges from 198.18.0.0/15, the binaries folder beside it. Without Kubernetes
// binaries it is etcd-only.
import yaml from 'js-yaml';
import { LAB_NODE_SUBNET_SIZE, LAB_POD_CIDR, LAB_SERVICE_CIDR, type LabHost } from './layout.js';
import { LAB_FILES } from './state.js';

export interface LabInventoryInput {
  readonly dir: string;
  readonly bridge: string;
  readonly subnet: string;
  readonly hosts: readonly LabHost[];
  readonly etcdVersion: string;
  /** Read from the given kube-apiserver; the schema's default when it does not say. */
  readonly kubernetesVersion?: string;
}

export const renderLabInventory = (i: LabInventoryInput): string =>
  [
    `# The lab in ${i.dir}, made by \`kubeinstall lab up\`: ${i.hosts.length} hosts on bridge ${i.bridge} (${i.subnet}).`,
    '# Its hosts reach nothing but this machine (no uplink), so deploy installs no packages there.',
    `# \`kubeinstall lab down --dir ${i.dir}\` stops them and removes this folder.`,
    yaml.dump({
      cluster: {
        name: 'lab',
        ...(i.kubernetesVersion && { kubernetesVersion: i.kubernetesVersion }),
        etcdVersion: i.etcdVersion,
        binariesDir: `./${LAB_FILES.binaries}`,
        clusterDir: `./${LAB_FILES.cluster}`,
        serviceCidr: LAB_SERVICE_CIDR,
        podCidr: LAB_POD_CIDR,
        network: { nodeSubnetSize: LAB_NODE_SUBNET_SIZE },
        installPackages: false,
      },
      ssh: { user: 'root', identityFile: `./${LAB_FILES.key}`, hostKeyPolicy: 'strict' },
      hosts: i.hosts.map((h) => ({ name: h.name, address: h.address, roles: [...h.roles] })),
    }),
  ].join('\n');
