// The hosts: each one's SSH settings (the top-level `ssh` under its own overrides), its internal address,
// and the checks across hosts (names and addresses used once, roles the cluster needs).
import type { PathSegment } from './parse.js';
import { expandPath, type InventoryInput, type Report, type SshInput, type SshTargetInput } from './input.js';
import { hostsWithRole, isEtcdOnly, type Host, type SshSettings, type SshTarget } from './model.js';
import type { Networks } from './resolve-networks.js';
import { cidrContains, cidrText, isIpAddress } from '../util/ip.js';

const toTarget = (s: SshTargetInput, baseDir: string): SshTarget => ({
  user: s.user,
  port: s.port,
  identityFile: s.identityFile ? expandPath(s.identityFile, baseDir) : undefined,
  passphraseEnv: s.passphraseEnv,
  useAgent: s.useAgent,
  passwordEnv: s.passwordEnv,
  password: s.password,
  hostKeyPolicy: s.hostKeyPolicy,
  connectTimeoutSeconds: s.connectTimeoutSeconds,
});

export const toSshSettings = (s: SshInput, baseDir: string): SshSettings => ({
  ...toTarget(s, baseDir),
  sudo: s.sudo ?? s.user !== 'root',
  sudoPasswordEnv: s.sudoPasswordEnv,
  bastion: s.bastion ? { ...toTarget(s.bastion, baseDir), address: s.bastion.address } : undefined,
});

const warnAboutSsh = (ssh: Partial<SshInput>, at: PathSegment[], report: Report, hostKeysOff: string): void => {
  if (typeof ssh.password === 'string') report.warn([...at, 'password'], 'a literal password is stored in the inventory; prefer passwordEnv');
  if (ssh.hostKeyPolicy === 'off') report.warn([...at, 'hostKeyPolicy'], hostKeysOff);
};

/** Each name, address and internal address belongs to one host. */
const uniqueness = (report: Report) => {
  const seenName = new Map<string, number>();
  const seenAddress = new Map<string, number>();
  const seenInternal = new Map<string, number>();
  const dup = (map: Map<string, number>, key: string, i: number, field: string, what: string): void => {
    const first = map.get(key);
    if (first !== undefined) report.error(['hosts', i, field], `${what} "${key}" is also used by hosts[${first}]`);
    else map.set(key, i);
  };
  return (i: number, name: string, address: string, internal: string | undefined, internalDeclared: boolean): void => {
    const addressClashes = seenAddress.has(address);
    dup(seenName, name, i, 'name', 'host name');
    dup(seenAddress, address, i, 'address', 'address');
    if (!internal) return;
    const first = seenInternal.get(internal);
    if (first === undefined) seenInternal.set(internal, i);
    // An internal address taken from a clashing address is that clash again: reported once.
    else if (internalDeclared || !addressClashes) {
      report.error(['hosts', i, internalDeclared ? 'internalAddress' : 'address'], `internal address "${internal}" is also used by hosts[${first}]`);
    }
  };
};

const checkRoles = (hosts: readonly Host[], report: Report): void => {
  const etcdMembers = hostsWithRole({ hosts }, 'etcd');
  if (etcdMembers.length === 0) report.error(['hosts'], 'no host has the role "etcd": the cluster needs at least one etcd member');
  if (hostsWithRole({ hosts }, 'master').length === 0 && !isEtcdOnly({ hosts })) {
    report.error(
      ['hosts'],
      'no host has the role "master" (only an inventory whose hosts are all etcd-only may have none: it deploys an external etcd cluster)',
    );
  }
  if (etcdMembers.length > 0 && etcdMembers.length % 2 === 0) {
    report.warn(['hosts'], `${etcdMembers.length} etcd members: an even count tolerates no more failures than ${etcdMembers.length - 1}; use an odd number`);
  }
};

export const resolveHosts = (input: InventoryInput, networks: Networks, baseDir: string, report: Report): Host[] => {
  warnAboutSsh(input.ssh, ['ssh'], report, 'host keys will not be checked: anyone on the path can impersonate your hosts');
  const seen = uniqueness(report);
  const hosts = input.hosts.map((h, i): Host => {
    const at = (field: string): PathSegment[] => ['hosts', i, field];
    const overrides = h.ssh ?? {};
    warnAboutSsh(overrides, ['hosts', i, 'ssh'], report, 'host keys will not be checked for this host');
    const internalAddress = h.internalAddress ?? (isIpAddress(h.address) ? h.address : undefined);
    if (!internalAddress)
      report.error(at('internalAddress'), `address "${h.address}" is a host name, so internalAddress (the IP components bind to) is required`);
    seen(i, h.name, h.address, internalAddress, h.internalAddress !== undefined);
    for (const [label, c] of [
      ['service', networks.serviceCidr],
      ['pod', networks.podCidr],
    ] as const) {
      if (internalAddress && cidrContains(c, internalAddress)) {
        report.error(at(h.internalAddress ? 'internalAddress' : 'address'), `${internalAddress} lies inside the ${label} CIDR ${cidrText(c)}`);
      }
    }
    return {
      name: h.name,
      address: h.address,
      internalAddress: internalAddress ?? h.address,
      roles: h.roles,
      labels: h.labels ?? {},
      taints: h.taints ?? [],
      ssh: toSshSettings({ ...input.ssh, ...overrides }, baseDir),
    };
  });
  if (hosts.length > 0) checkRoles(hosts, report);
  return hosts;
};
