// The classic manual host preparation as a table: what each item looks at, what it runs when
// needed, and why a host may not allow it. A host that refuses is reported, never skipped silently.
// Preflight reports the same decisions ahead of time (as warnings), so the two cannot disagree.
import { runsKubelet } from '../inventory/model.js';
import type { HostPlan } from '../render/types.js';
import type { Facts } from './facts.js';
import { requiredModules, requiredSysctls } from './host-settings.js';
import { quote, quoteAll } from '../util/shell.js';

export interface PrepItem {
  /** Also the name of the preflight check that reports it. */
  readonly name: string;
  /** The state prepare brings the host to, as preflight lists it. */
  readonly description: string;
  /** What prepare does about it, as preflight says ahead of time. */
  readonly remedy: string;
  /** What is wrong now, or undefined when the host is already as wanted. */
  needed(facts: Facts, hp: HostPlan): string | undefined;
  /** Why this host cannot be changed, or undefined when it can. */
  blocked(facts: Facts): string | undefined;
  command(facts: Facts, hp: HostPlan): string;
}

const missingModules = (facts: Facts, hp: HostPlan): string[] => requiredModules(hp).filter((m) => !facts.loadedModules.has(m));
const wrongSysctls = (facts: Facts, hp: HostPlan) => requiredSysctls(hp).filter((s) => facts.sysctls.get(s.key) !== s.value);

export const PREP_ITEMS: readonly PrepItem[] = [
  {
    name: 'firewall',
    description: 'firewalld and ufw are not running',
    remedy: 'prepare stops and disables it',
    needed: (f) => (f.firewalldActive ? 'firewalld is active' : f.ufwActive ? 'ufw is active' : undefined),
    blocked: () => undefined,
    command: (f) => (f.firewalldActive ? 'systemctl disable --now firewalld' : 'ufw disable'),
  },
  {
    name: 'selinux',
    description: 'SELinux is not enforcing',
    remedy: 'prepare sets it permissive',
    needed: (f) => (f.selinux === 'enforcing' ? 'SELinux is enforcing' : undefined),
    blocked: () => undefined,
    command: () => "setenforce 0 && sed -i 's/^SELINUX=enforcing/SELINUX=permissive/' /etc/selinux/config",
  },
  {
    name: 'swap',
    description: 'swap is off on nodes (the kubelet refuses to start otherwise)',
    remedy: 'prepare turns swap off',
    needed: (f, hp) => (runsKubelet(hp.host) && f.swapDevices > 0 ? `${f.swapDevices} swap device(s) on` : undefined),
    blocked: () => undefined,
    // Comment out swap in fstab too, or the next boot turns it back on.
    command: () => "swapoff -a && sed -i.kubeinstall.bak -E '/^[^#].*\\sswap\\s/ s/^/#/' /etc/fstab",
  },
  {
    name: 'modules',
    description: 'the kernel modules the plan needs are loaded or loadable',
    remedy: 'prepare loads them',
    needed: (f, hp) => (missingModules(f, hp).length ? `not loaded: ${missingModules(f, hp).join(', ')}` : undefined),
    blocked: (f) => (f.hasModprobe ? undefined : 'no modprobe on the host (a container?); the modules-load.d drop-in applies where the kernel allows'),
    command: (f, hp) =>
      missingModules(f, hp)
        .map((m) => `modprobe ${quote(m)}`)
        .join(' && '),
  },
  {
    name: 'sysctls',
    description: 'the sysctls the plan needs are set or settable',
    remedy: 'prepare sets them',
    needed: (f, hp) =>
      wrongSysctls(f, hp).length
        ? `not set: ${wrongSysctls(f, hp)
            .map((s) => `${s.key}=${s.value} (is ${f.sysctls.get(s.key) ?? 'absent'})`)
            .join(', ')}`
        : undefined,
    blocked: (f) => (f.procSysWritable ? undefined : '/proc/sys is read-only on the host (a container?); the sysctl.d drop-in applies where the kernel allows'),
    command: (f, hp) => `sysctl -q -w ${quoteAll(wrongSysctls(f, hp).map((s) => `${s.key}=${s.value}`))}`,
  },
];

export interface PrepDecision {
  readonly item: string;
  readonly problem: string;
  /** Set when the host cannot be changed: the reason. */
  readonly blocked?: string;
  readonly command?: string;
}

/** What prepare will do about one item on this host: nothing (undefined), a command, or why it cannot. */
export const prepDecision = (item: PrepItem, facts: Facts, hp: HostPlan): PrepDecision | undefined => {
  const problem = item.needed(facts, hp);
  if (!problem) return undefined;
  const blocked = item.blocked(facts);
  return blocked ? { item: item.name, problem, blocked } : { item: item.name, problem, command: item.command(facts, hp) };
};

export const prepDecisions = (facts: Facts, hp: HostPlan): PrepDecision[] => PREP_ITEMS.flatMap((item) => prepDecision(item, facts, hp) ?? []);
