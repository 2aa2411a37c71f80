// Inputs for render tests: inventories as text, the cluster folder's layout with placeholder bytes (render
// places files, it does not parse them), and a binaries index, plus a reader for rendered unit files.
import { createHash } from 'node:crypto';
import { loadInventoryText } from '../inventory/load.js';
import { holdsVip, hostsWithRole, type ClusterModel } from '../inventory/model.js';
import { ENCRYPTION_KEY_FILE } from '../pki/encryption.js';
import { expandPki, SERVICE_ACCOUNT_FILES } from '../pki/specs.js';
import { VRRP_PASSWORD_FILE } from '../pki/vrrp.js';
import { allocatePodSubnets, formatPodSubnets, podSubnetHosts, POD_SUBNETS_FILE } from '../network/pod-subnets.js';
import type { BinaryIndex } from './types.js';

export const TEST_ENCRYPTION_KEY = Buffer.alloc(32, 0xa5);
export const TEST_VRRP_PASSWORD = 'Test1234';

export const modelFrom = (hostLines: string, cluster = ''): ClusterModel =>
  loadInventoryText(
    `cluster:\n  name: test\n  kubernetesVersion: "1.34.2"\n${cluster}ssh:\n  user: root\nhosts:\n${hostLines}`,
    '/tmp/kubeinstall-render-test/inventory.yaml',
  ).model;

/** The cluster folder's files for these hosts as the PKI table lays them out, each holding its own path as bytes. */
export const clusterFilesFor = (model: ClusterModel): Map<string, Buffer> => {
  const pki = expandPki(model);
  const paths = [
    ...pki.certs.flatMap((c) => (c.files ? [c.files.crt, c.files.key] : [])),
    ...pki.kubeconfigs.map((k) => k.file),
    ...(pki.serviceAccount ? Object.values(SERVICE_ACCOUNT_FILES) : []),
  ];
  const files = new Map(paths.map((p) => [p, Buffer.from(`placeholder ${p}\n`)]));
  // `certs` writes it where there are masters; render builds the EncryptionConfiguration from it, so it must be a key
  if (hostsWithRole(model, 'master').length > 0) files.set(ENCRYPTION_KEY_FILE, Buffer.from(`${TEST_ENCRYPTION_KEY.toString('base64')}\n`));
  if (model.hosts.some((h) => holdsVip(model, h))) files.set(VRRP_PASSWORD_FILE, Buffer.from(`${TEST_VRRP_PASSWORD}\n`));
  if (podSubnetHosts(model).length) files.set(POD_SUBNETS_FILE, Buffer.from(formatPodSubnets(allocatePodSubnets(model, undefined, POD_SUBNETS_FILE))));
  return files;
};

export const binaryIndexFor = (names: readonly string[]): BinaryIndex =>
  new Map(
    names.map((name) => [
      name,
      { name, localPath: `/opt/binaries/${name}`, size: 1000 + name.length, sha256: createHash('sha256').update(name).digest('hex') },
    ]),
  );

export const ALL_BINARIES = [
  'etcd',
  'etcdctl',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'kubectl',
  'containerd',
  'containerd-shim-runc-v2',
  'runc',
  'ctr',
  'kubelet',
  'kube-proxy',
];

export interface ParsedUnit {
  readonly sections: ReadonlyMap<string, ReadonlyMap<string, string>>;
  readonly binary: string;
  /** `--name=value` arguments of ExecStart=, in order. */
  readonly flags: ReadonlyMap<string, string>;
}

/** A unit file's sections and keys (continuation lines joined), and its ExecStart= split into binary and flags. */
export const parseUnit = (text: string): ParsedUnit => {
  const sections = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  for (const line of text.replace(/\\\n\s*/g, ' ').split('\n')) {
    const header = /^\[(\w+)\]$/.exec(line.trim());
    if (header) sections.set(header[1]!, (current = new Map()));
    else if (current && /^\w+=/.test(line)) current.set(line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1).trim());
  }
  const [binary = '', ...args] = (sections.get('Service')?.get('ExecStart') ?? '').split(/\s+/);
  const flags = new Map(
    args.map((a) => {
      const m = /^--([^=]+)=(.*)$/.exec(a);
      if (!m) throw new Error(`ExecStart argument "${a}" is not --name=value`);
      return [m[1]!, m[2]!] as const;
    }),
  );
  return { sections, binary, flags };
};
