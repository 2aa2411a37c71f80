// The OS packages kubeinstall relies on, as a table: one row a need, with the hosts that need it, what
// proves it is installed, and its package per package manager. The facts phase looks for the proofs and
// the package managers, preflight reports what is missing, prepare installs it (cluster.installPackages).
import { holdsVip, runsKubelet, runsLocalLoadBalancer, type ClusterModel, type Host } from '../inventory/model.js';
import { quoteAll } from '../util/shell.js';
import type { Facts } from './facts.js';

export type PackageManager = 'apt' | 'dnf';

export interface PackageManagerSpec {
  /** The command whose presence on the PATH says the host uses this manager. */
  readonly command: string;
  /** A non-interactive install of these packages. */
  install(packages: readonly string[]): string;
}

/** In the order they are looked for: the first one on the host's PATH is the host's. */
export const PACKAGE_MANAGERS: Readonly<Record<PackageManager, PackageManagerSpec>> = {
  // The lists are refreshed before every install (only a run that installs something pays for it): a
  // minimal image has none, and lists older than the mirror name versions it no longer serves (404).
  // The lock timeout waits for unattended-upgrades, which holds the dpkg lock on a freshly booted host.
  apt: {
    command: 'apt-get',
    install: (packages) =>
      'apt-get -q -o DPkg::Lock::Timeout=120 update && ' +
      `DEBIAN_FRONTEND=noninteractive apt-get -q -y -o DPkg::Lock::Timeout=120 install --no-install-recommends ${quoteAll(packages)}`,
  },
  // dnf refreshes expired metadata by itself.
  dnf: { command: 'dnf', install: (packages) => `dnf -y -q install ${quoteAll(packages)}` },
};

const MANAGERS = Object.entries(PACKAGE_MANAGERS) as [PackageManager, PackageManagerSpec][];

export interface PackageNeed {
  /** The name messages use. */
  readonly need: string;
  readonly usedBy: string;
  /** What must be on the host: a command on the PATH, or an absolute path to an executable (what a unit runs). */
  readonly proof: string;
  neededOn(model: Pick<ClusterModel, 'apiEndpoint'>, host: Pick<Host, 'roles'>): boolean;
  readonly packages: Readonly<Record<PackageManager, string>>;
  /** The preflight check that reports it missing, and how bad that is when prepare does not install it. */
  readonly check: 'packages' | 'node-commands';
  readonly severity: 'error' | 'warning';
  /**
   * The package's own service, which kubeinstall does not run: stopped and disabled when kubeinstall
   * installed the package, so no idle copy looks like the real thing. An operator's own install is left alone.
   */
  readonly idleService?: string;
}

const onKubeletHosts = (_model: unknown, host: Pick<Host, 'roles'>): boolean => runsKubelet(host);

export const PACKAGE_NEEDS: readonly PackageNeed[] = [
  {
    need: 'haproxy',
    usedBy: 'the node-local API load balancer',
    proof: '/usr/sbin/haproxy',
    neededOn: runsLocalLoadBalancer,
    packages: { apt: 'haproxy', dnf: 'haproxy' },
    check: 'packages',
    severity: 'error',
    // Debian's haproxy.service starts after install with a config that listens nowhere; kubeinstall runs its own unit.
    idleService: 'haproxy.service',
  },
  {
    need: 'keepalived',
    usedBy: 'the API VIP',
    proof: '/usr/sbin/keepalived',
    neededOn: holdsVip,
    packages: { apt: 'keepalived', dnf: 'keepalived' },
    check: 'packages',
    severity: 'error',
  },
  // kube-proxy runs in its default iptables mode (the plan sets no other).
  {
    need: 'iptables',
    usedBy: 'kube-proxy (iptables mode)',
    proof: 'iptables',
    neededOn: onKubeletHosts,
    packages: { apt: 'iptables', dnf: 'iptables-nft' },
    check: 'node-commands',
    severity: 'error',
  },
  // deploy's probes of what listens on 127.0.0.1 there run as python3 scripts on the host (on-host.ts)
  {
    need: 'python3',
    usedBy: "deploy's health probes on the host",
    proof: 'python3',
    neededOn: onKubeletHosts,
    packages: { apt: 'python3', dnf: 'python3' },
    check: 'node-commands',
    severity: 'error',
  },
  // kube-proxy 1.32+ clears conntrack entries over netlink (kubernetes/kubernetes#126847), but CNI plugins'
  // hostport handling still calls `conntrack`, and `kubectl port-forward` runtimes may call `socat`.
  {
    need: 'conntrack',
    usedBy: 'CNI hostport cleanup',
    proof: 'conntrack',
    neededOn: onKubeletHosts,
    packages: { apt: 'conntrack', dnf: 'conntrack-tools' },
    check: 'node-commands',
    severity: 'warning',
  },
  {
    need: 'socat',
    usedBy: 'kubectl port-forward',
    proof: 'socat',
    neededOn: onKubeletHosts,
    packages: { apt: 'socat', dnf: 'socat' },
    check: 'node-commands',
    severity: 'warning',
  },
];

export const packageNeeds = (model: Pick<ClusterModel, 'apiEndpoint'>, host: Pick<Host, 'roles'>): PackageNeed[] =>
  PACKAGE_NEEDS.filter((n) => n.neededOn(model, host));

/** What the facts look for on the host: each need's proof, and the package managers when anything is needed. */
export const packageFactsQuery = (model: Pick<ClusterModel, 'apiEndpoint'>, host: Pick<Host, 'roles'>): string[] => {
  const needs = packageNeeds(model, host);
  return needs.length ? [...needs.map((n) => n.proof), ...MANAGERS.map(([, m]) => m.command)] : [];
};

export const packageManagerOf = (facts: Pick<Facts, 'commands'>): PackageManager | undefined => MANAGERS.find(([, m]) => facts.commands.has(m.command))?.[0];

export const missingNeeds = (model: Pick<ClusterModel, 'apiEndpoint'>, host: Pick<Host, 'roles'>, facts: Pick<Facts, 'commands'>): PackageNeed[] =>
  packageNeeds(model, host).filter((n) => !facts.commands.has(n.proof));

export interface InstallPlan {
  readonly manager: PackageManager;
  readonly packages: readonly string[];
  /** The install, then the idle services of what it installed stopped and disabled; output on stdout. */
  readonly command: string;
}

/** What prepare installs on this host: nothing (undefined), or one command. */
export const installPlan = (model: Pick<ClusterModel, 'apiEndpoint' | 'installPackages'>, host: Pick<Host, 'roles'>, facts: Facts): InstallPlan | undefined => {
  const needs = missingNeeds(model, host, facts);
  const manager = packageManagerOf(facts);
  if (!model.installPackages || !needs.length || !manager) return undefined;
  const packages = [...new Set(needs.map((n) => n.packages[manager]))];
  const idle = needs.flatMap((n) => n.idleService ?? []);
  const command = [PACKAGE_MANAGERS[manager].install(packages), ...(idle.length ? [`systemctl disable --now ${quoteAll(idle)}`] : [])].join(' && ');
  // One stream, so a failure's last lines are the manager's own, in order.
  return { manager, packages, command: `{ ${command}; } 2>&1` };
};

const isPath = (n: PackageNeed): boolean => n.proof.startsWith('/');

/** `not on the PATH: iptables (for kube-proxy (iptables mode)); missing: /usr/sbin/haproxy (for ...)`. */
const missingText = (needs: readonly PackageNeed[]): string =>
  (
    [
      ['not on the PATH', needs.filter((n) => !isPath(n))],
      ['missing', needs.filter(isPath)],
    ] as const
  )
    .filter(([, list]) => list.length)
    .map(([lead, list]) => `${lead}: ${list.map((n) => `${n.proof} (for ${n.usedBy})`).join(', ')}`)
    .join('; ');

export interface PackageFinding {
  readonly check: PackageNeed['check'];
  readonly severity: 'error' | 'warning';
  readonly message: string;
}

/**
 * Preflight's view of one host, from the same decision prepare acts on: what prepare will install (a
 * warning), else what is missing with why it is not installed, as bad as the need says.
 */
export const packageFindings = (model: Pick<ClusterModel, 'apiEndpoint' | 'installPackages'>, host: Pick<Host, 'roles'>, facts: Facts): PackageFinding[] => {
  const missing = missingNeeds(model, host, facts);
  const plan = installPlan(model, host, facts);
  const manager = packageManagerOf(facts);
  const checks = [...new Set(missing.map((n) => n.check))];
  if (plan) {
    const command = PACKAGE_MANAGERS[plan.manager].command;
    return checks.map((check) => {
      const needs = missing.filter((n) => n.check === check);
      return {
        check,
        severity: 'warning',
        message: `${missingText(needs)}; prepare installs ${needs.map((n) => n.packages[plan.manager]).join(', ')} with ${command}`,
      };
    });
  }
  return checks.flatMap((check) =>
    (['error', 'warning'] as const).flatMap((severity) => {
      const needs = missing.filter((n) => n.check === check && n.severity === severity);
      if (!needs.length) return [];
      const names = needs.map((n) => (manager ? n.packages[manager] : n.need)).join(', ');
      const named = manager ? `the package${needs.length > 1 ? 's' : ''} ${names}` : names;
      const why = model.installPackages
        ? `neither ${MANAGERS.map(([, m]) => m.command).join(' nor ')} is on the host to install ${named} with`
        : `cluster.installPackages is false: install ${named} on the host`;
      return [{ check, severity, message: `${missingText(needs)}; ${why}` }];
    }),
  );
};
