// The inventory schema as data. One table drives validation, defaults, the starter inventory
// (`kubeinstall init inventory`) and the README's inventory reference, so they cannot drift.
import {
  API_ENDPOINT_KINDS,
  CLUSTER_DNS_KINDS,
  DEFAULT_API_SERVER_SHUTDOWN_DELAY_SECONDS,
  HOST_KEY_POLICIES,
  KEY_ALGORITHMS,
  NETWORK_PLUGINS,
  ROLES,
  TAINT_EFFECTS,
} from './model.js';
import { DEFAULT_ETCD_VERSION, DEFAULT_IMAGE_REPOSITORY, DEFAULT_KUBERNETES_VERSION } from '../versions.js';

/** A named format check: returns an error message, or undefined when the value is fine. */
export type Format =
  | 'ip'
  | 'host'
  | 'hostname'
  | 'cidr'
  | 'endpoint'
  | 'version'
  | 'envName'
  | 'path'
  | 'san'
  | 'labelKey'
  | 'labelValue'
  | 'image-repository'
  | 'registry-host'
  | 'registry-url';

interface Base {
  readonly doc: string;
  readonly required?: boolean;
}
export interface StringField extends Base {
  readonly kind: 'string';
  readonly format?: Format;
  readonly default?: string;
  /** Shown in the starter inventory when there is no default. */
  readonly example?: string;
  /** A credential: masked in every output (`inventory check`). */
  readonly secret?: boolean;
}
export interface IntField extends Base {
  readonly kind: 'int';
  readonly min: number;
  readonly max: number;
  readonly default?: number;
  /** Describes a default that depends on other fields. */
  readonly defaultText?: string;
}
export interface BoolField extends Base {
  readonly kind: 'bool';
  readonly default?: boolean;
  /** Describes a default that depends on other fields. */
  readonly defaultText?: string;
}
export interface EnumField extends Base {
  readonly kind: 'enum';
  readonly values: readonly string[];
  readonly default?: string;
}
export interface ListField extends Base {
  readonly kind: 'list';
  readonly of: Field;
  readonly minItems?: number;
  readonly unique?: boolean;
  /** Items (mappings) that agree on all these keys are duplicates. */
  readonly uniqueBy?: readonly string[];
}
/** A mapping with free keys (of a format) and values of one kind: labels. */
export interface MapField extends Base {
  readonly kind: 'map';
  readonly key: Format;
  readonly of: StringField;
  /** Shown in the starter inventory. */
  readonly example?: Readonly<Record<string, string>>;
}
export interface ObjectField extends Base {
  readonly kind: 'object';
  readonly fields: Readonly<Record<string, Field>>;
}
export type Field = StringField | IntField | BoolField | EnumField | ListField | ObjectField | MapField;

const sshTargetFields = {
  user: { kind: 'string', doc: 'SSH login user.', default: 'root' },
  port: { kind: 'int', min: 1, max: 65535, doc: 'SSH port.', default: 22 },
  identityFile: {
    kind: 'string',
    format: 'path',
    doc: 'Private key file (ed25519, ECDSA or RSA); `~` is expanded.',
    example: '~/.ssh/id_ed25519',
  },
  passphraseEnv: {
    kind: 'string',
    format: 'envName',
    doc: "Environment variable holding the identity file's passphrase (asked on a terminal otherwise).",
  },
  useAgent: { kind: 'bool', doc: 'Offer the keys of ssh-agent (SSH_AUTH_SOCK) when it is running.', default: true },
  passwordEnv: { kind: 'string', format: 'envName', doc: 'Environment variable holding the SSH password.' },
  password: {
    kind: 'string',
    secret: true,
    doc: 'A literal SSH password. Discouraged (it sits in the file); prefer passwordEnv. Warned about.',
  },
  hostKeyPolicy: {
    kind: 'enum',
    values: HOST_KEY_POLICIES,
    default: 'strict',
    doc: '`strict`: unknown host keys are refused; `accept-new`: trusted on first use and recorded; `off`: not checked (needs --insecure-skip-host-key-check).',
  },
  connectTimeoutSeconds: { kind: 'int', min: 1, max: 600, default: 10, doc: 'Timeout of one connection attempt.' },
} as const satisfies Record<string, Field>;

const sshHostFields = {
  ...sshTargetFields,
  sudo: {
    kind: 'bool',
    doc: 'Run privileged steps with sudo.',
    defaultText: 'true unless user is root',
  },
  sudoPasswordEnv: {
    kind: 'string',
    format: 'envName',
    doc: 'Environment variable holding the sudo password (fed on stdin, never on a command line); unset means passwordless sudo.',
  },
  bastion: {
    kind: 'object',
    doc: 'Jump host: connections go through a channel forwarded by this host. Its credentials and host key are checked on their own.',
    fields: {
      address: { kind: 'string', format: 'host', required: true, doc: 'Bastion address (IP or DNS name).', example: '203.0.113.10' },
      ...sshTargetFields,
    },
  },
} as const satisfies Record<string, Field>;

/** Per-host SSH overrides: the same keys as the top-level `ssh`, with no defaults of their own. */
const withoutDefaults = (fields: Readonly<Record<string, Field>>): Record<string, Field> =>
  Object.fromEntries(
    Object.entries(fields).map(([k, f]) => {
      const { default: _dropped, ...rest } = f as Field & { default?: unknown };
      return [k, f.kind === 'object' ? { ...rest, fields: f.fields } : rest] as [string, Field];
    }),
  );

export const inventorySchema: ObjectField = {
  kind: 'object',
  doc: 'A kubeinstall inventory.',
  fields: {
    cluster: {
      kind: 'object',
      doc: 'Cluster-wide settings.',
      fields: {
        name: {
          kind: 'string',
          format: 'hostname',
          default: 'kubernetes',
          doc: 'Cluster name: kubeconfig cluster entries, and the folder (next to the inventory) holding PKI and logs.',
        },
        kubernetesVersion: {
          kind: 'string',
          format: 'version',
          default: DEFAULT_KUBERNETES_VERSION,
          doc: 'Kubernetes version of the binaries (x.y.z); flags are rendered for this minor.',
        },
        etcdVersion: { kind: 'string', format: 'version', default: DEFAULT_ETCD_VERSION, doc: 'etcd version of the binaries (x.y.z).' },
        apiEndpoint: {
          kind: 'string',
          format: 'endpoint',
          doc:
            'host[:port] clients use to reach the API: a VIP or load balancer for HA. ' +
            'Default: the first master (its internalAddress; with node-local, its address), port apiServerPort.',
          example: '192.0.2.100:6443',
        },
        apiEndpointKind: {
          kind: 'enum',
          values: API_ENDPOINT_KINDS,
          doc:
            'What apiEndpoint is: `master` (a master address), `node-local` (no apiEndpoint: every node reaches all masters ' +
            'through its own load balancer on 127.0.0.1), `vip` (a floating IP on the masters) or `loadbalancer` (external). ' +
            'Default: `node-local` with several masters and no apiEndpoint, else `master`.',
        },
        apiServerPort: { kind: 'int', min: 1, max: 65535, default: 6443, doc: 'Port kube-apiserver listens on, on every master.' },
        apiServerShutdownDelaySeconds: {
          kind: 'int',
          min: 0,
          max: 600,
          default: DEFAULT_API_SERVER_SHUTDOWN_DELAY_SECONDS,
          doc:
            "kube-apiserver's --shutdown-delay-duration: at a stop it fails /readyz but serves on this long, so load balancers take " +
            "it out before its port closes (hitless rolls). At least your load balancer's check interval times its fall count.",
        },
        vrrpRouterId: {
          kind: 'int',
          min: 1,
          max: 255,
          doc:
            "apiEndpointKind vip: the VRRP group (virtual_router_id) of the masters' keepalived; unique per network segment. " +
            'Default: derived from the cluster name.',
        },
        serviceCidr: {
          kind: 'string',
          format: 'cidr',
          default: '10.96.0.0/12',
          doc: 'Service IP range; its first address is the `kubernetes` service, its tenth the cluster DNS.',
        },
        podCidr: { kind: 'string', format: 'cidr', default: '10.244.0.0/16', doc: 'Pod IP range (cluster CIDR).' },
        network: {
          kind: 'object',
          doc: 'The pod network (docs/network.md).',
          fields: {
            plugin: {
              kind: 'enum',
              values: NETWORK_PLUGINS,
              default: 'bridge',
              doc:
                '`bridge`: the reference CNI plugins, a pod subnet per kubelet host (recorded in the cluster folder by `certs`) and routes ' +
                'between the hosts, which must share a network; `none`: nothing (Nodes stay NotReady until you apply a network); ' +
                '`manifest`: the `manifest` file (Calico, Flannel, Cilium...) applied after the control plane.',
            },
            nodeSubnetSize: {
              kind: 'int',
              min: 8,
              max: 126,
              defaultText: '24 (IPv4), 64 (IPv6), as the controller-manager',
              doc: "Prefix length of each kubelet host's pod subnet, carved from podCidr (/24: 254 pods a host).",
            },
            manifest: {
              kind: 'string',
              format: 'path',
              doc: 'plugin `manifest`: a YAML file of the objects to apply (server-side apply), relative to the inventory.',
              example: './calico.yaml',
            },
          },
        },
        clusterDomain: { kind: 'string', format: 'hostname', default: 'cluster.local', doc: 'Cluster DNS domain.' },
        dns: {
          kind: 'enum',
          values: CLUSTER_DNS_KINDS,
          default: 'coredns',
          doc:
            '`coredns`: deploy applies CoreDNS (2 replicas) and the `kube-dns` Service on the tenth service IP, which the kubelets name; ' +
            '`none`: nothing answers there until you install a cluster DNS of your own.',
        },
        imageRepository: {
          kind: 'string',
          format: 'image-repository',
          default: DEFAULT_IMAGE_REPOSITORY,
          doc:
            'Where the cluster images (pause, CoreDNS) are named from, e.g. a registry mirror `mirror.example.com/k8s`; ' +
            'their tags follow the Kubernetes minor (src/versions.ts). The images come from `<binariesDir>/images/` or the host.',
        },
        registries: {
          kind: 'list',
          uniqueBy: ['host'],
          doc:
            'Registry mirrors containerd pulls through (containerd `hosts.toml` files under `/etc/containerd/certs.d/<host>/`), ' +
            'for images that are neither in `<binariesDir>/images/` nor on the host. See docs/images.md.',
          of: {
            kind: 'object',
            doc: 'One registry, as image names spell it, and the mirrors that serve it.',
            fields: {
              host: {
                kind: 'string',
                format: 'registry-host',
                required: true,
                doc: 'The registry in image names: `docker.io`, `registry.k8s.io`, `mirror.example.com:5000`.',
                example: 'registry.k8s.io',
              },
              mirrors: {
                kind: 'list',
                required: true,
                minItems: 1,
                unique: true,
                of: { kind: 'string', format: 'registry-url', doc: 'A mirror endpoint.' },
                doc: 'Endpoints tried in order, before the registry itself: `https://host[:port][/path]` (or `http://`).',
              },
              caFile: {
                kind: 'string',
                format: 'path',
                doc: "PEM CA the mirrors' certificates are checked against (relative to the inventory); the system CAs otherwise.",
              },
              usernameEnv: { kind: 'string', format: 'envName', doc: 'Environment variable holding the user name for the mirrors (basic auth).' },
              passwordEnv: {
                kind: 'string',
                format: 'envName',
                doc: 'Environment variable holding the password; read at deploy, written only into the 0600 `hosts.toml`, never logged.',
              },
            },
          },
        },
        apiServerExtraSans: {
          kind: 'list',
          of: { kind: 'string', format: 'san', doc: 'A DNS name or IP.' },
          unique: true,
          doc: 'Extra names and IPs for the API server certificate (e.g. a public DNS name).',
        },
        keyAlgorithm: { kind: 'enum', values: KEY_ALGORITHMS, default: 'rsa-2048', doc: 'Algorithm of every key in the PKI.' },
        caValidityDays: { kind: 'int', min: 1, max: 36500, default: 3650, doc: 'Validity of the CAs, in days.' },
        certValidityDays: { kind: 'int', min: 1, max: 3650, default: 365, doc: 'Validity of every other certificate, in days.' },
        binariesDir: {
          kind: 'string',
          format: 'path',
          default: './binaries',
          doc: 'Local folder of offline binaries (etcd, etcdctl, kube-*, kubelet, containerd...), relative to the inventory.',
        },
        clusterDir: {
          kind: 'string',
          format: 'path',
          doc: 'Local folder for PKI, kubeconfigs, known_hosts and logs. Default: a folder named after the cluster, next to the inventory.',
        },
        installPackages: {
          kind: 'bool',
          default: true,
          doc:
            'Let deploy install the OS packages a host lacks (haproxy, keepalived, iptables...) with its package manager (apt or dnf), ' +
            'from the sources the host is configured with; false: preflight names each missing one (an error where the cluster cannot run without it).',
        },
      },
    },
    ssh: { kind: 'object', doc: 'SSH defaults for every host.', fields: sshHostFields },
    hosts: {
      kind: 'list',
      required: true,
      minItems: 1,
      doc: 'The machines of the cluster.',
      of: {
        kind: 'object',
        doc: 'One machine.',
        fields: {
          name: { kind: 'string', format: 'hostname', required: true, doc: 'Host name (RFC 1123); also the node name.', example: 'master-1' },
          address: { kind: 'string', format: 'host', required: true, doc: 'Address kubeinstall connects to over SSH.', example: '192.0.2.11' },
          internalAddress: {
            kind: 'string',
            format: 'ip',
            doc: 'IP components bind to and advertise (multi-NIC hosts). Default: address, which must then be an IP.',
          },
          roles: {
            kind: 'list',
            required: true,
            minItems: 1,
            unique: true,
            of: { kind: 'enum', values: ROLES, doc: 'A role.' },
            doc:
              '`etcd` (an etcd member), `master` (control plane; also runs kubelet, kube-proxy and containerd, tainted NoSchedule unless also `node`), ' +
              '`node` (kubelet, kube-proxy, containerd).',
          },
          labels: {
            kind: 'map',
            key: 'labelKey',
            of: { kind: 'string', format: 'labelValue', doc: 'A label value.' },
            doc:
              'Labels of its Node, applied through the API after it registers; ' +
              'one kubeinstall set and the inventory no longer lists is removed on the next run.',
            example: { 'topology.kubernetes.io/zone': 'zone-a' },
          },
          taints: {
            kind: 'list',
            uniqueBy: ['key', 'effect'],
            doc:
              'Taints of its Node, applied and kept in step as labels are. ' +
              'A master without the `node` role also gets `node-role.kubernetes.io/control-plane:NoSchedule`.',
            of: {
              kind: 'object',
              doc: 'One taint.',
              fields: {
                key: { kind: 'string', format: 'labelKey', required: true, doc: 'Taint key (a label key).', example: 'dedicated' },
                value: { kind: 'string', format: 'labelValue', doc: 'Taint value (a label value).' },
                effect: { kind: 'enum', values: TAINT_EFFECTS, required: true, doc: 'What it does to pods that do not tolerate it.' },
              },
            },
          },
          ssh: { kind: 'object', doc: 'Per-host SSH overrides (same keys as the top-level ssh).', fields: withoutDefaults(sshHostFields) },
        },
      },
    },
  },
};

/** The names of the fields marked secret, wherever they sit in the schema. */
export const secretFieldNames = (field: Field): Set<string> => {
  if (field.kind === 'list') return secretFieldNames(field.of);
  if (field.kind !== 'object') return new Set();
  return new Set(Object.entries(field.fields).flatMap(([name, f]) => [...(f.kind === 'string' && f.secret ? [name] : []), ...secretFieldNames(f)]));
};
