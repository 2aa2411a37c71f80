// etcdctl on a member, with the healthcheck client certificate the plan installs (kubeadm's paths).
import { hostsWithRole, type ClusterModel, type Host } from '../inventory/model.js';
import { etcdClientUrl, etcdPeerUrl } from '../render/etcd.js';
import { binPath, etcdPki } from '../render/paths.js';
import type { HostPlan } from '../render/types.js';
import type { Executor } from '../ssh/types.js';
import { KubeinstallError } from '../util/errors.js';
import { quoteAll } from '../util/shell.js';

const ETCDCTL_FILES = {
  etcdctl: binPath('etcdctl'),
  cacert: etcdPki('ca.crt'),
  cert: etcdPki('healthcheck-client.crt'),
  key: etcdPki('healthcheck-client.key'),
} as const;

/** The path, after making sure the plan installs it on this member. */
const planned = (hp: HostPlan, path: string): string => {
  if (!hp.files.some((f) => f.path === path)) throw new KubeinstallError(`the plan for ${hp.host.name} has no ${path}, which the etcd health check needs`);
  return path;
};

export const etcdEndpoint = (hp: HostPlan): string => etcdClientUrl(hp.host);

/** An etcdctl command line against the given endpoints, authenticated with the healthcheck client cert;
 * `timeout` bounds each request (a snapshot of a large keyspace needs more than a health check). */
export const etcdctl = (hp: HostPlan, endpoints: readonly string[], args: readonly string[], timeout = '3s'): string =>
  'ETCDCTL_API=3 ' +
  quoteAll([
    planned(hp, ETCDCTL_FILES.etcdctl),
    `--endpoints=${endpoints.join(',')}`,
    `--cacert=${planned(hp, ETCDCTL_FILES.cacert)}`,
    `--cert=${planned(hp, ETCDCTL_FILES.cert)}`,
    `--key=${planned(hp, ETCDCTL_FILES.key)}`,
    `--command-timeout=${timeout}`,
    ...args,
  ]);

/** Every member's client URL in the inventory: etcdctl asks whichever answers. */
export const inventoryEndpoints = (model: ClusterModel): string[] => hostsWithRole(model, 'etcd').map(etcdClientUrl);

export interface EtcdMember {
  /** Hex, as etcdctl prints and takes it. */
  readonly id: string;
  readonly started: boolean;
  /** Empty until the member first started. */
  readonly name: string;
  readonly peerUrls: readonly string[];
  readonly clientUrls: readonly string[];
  readonly learner: boolean;
}

/** `member list -w simple`: `ID, status, name, peer URLs, client URLs, is learner` a line (URLs joined by `,`). */
export const parseMemberList = (stdout: string): EtcdMember[] =>
  stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((line) => {
      const [id = '', status, name = '', peers = '', clients = '', learner] = line.split(', ');
      const urls = (s: string): string[] => s.split(',').filter(Boolean);
      return { id, started: status === 'started', name, peerUrls: urls(peers), clientUrls: urls(clients), learner: learner === 'true' };
    });

/** The members as the cluster lists them, asked from `hp` of the first of `endpoints` that answers;
 * undefined (with etcdctl's complaint) when none does. */
export const readMembers = async (
  executor: Executor,
  hp: HostPlan,
  endpoints: readonly string[],
): Promise<{ readonly members?: EtcdMember[]; readonly problem: string }> => {
  const r = await executor.exec(hp.host, etcdctl(hp, endpoints, ['member', 'list', '-w', 'simple']), {
    step: 'etcd member list',
    sudo: true,
    allowFailure: true,
  });
  return r.code === 0 ? { members: parseMemberList(r.stdout), problem: '' } : { problem: r.stderr.trim() || `exit code ${r.code}` };
};

/** The client URLs of the started voting members: where to send membership changes. */
export const votingEndpoints = (members: readonly EtcdMember[]): string[] => members.filter((m) => m.started && !m.learner).flatMap((m) => m.clientUrls);

export const memberOf = (members: readonly EtcdMember[], host: Host): EtcdMember | undefined => members.find((m) => m.peerUrls.includes(etcdPeerUrl(host)));
