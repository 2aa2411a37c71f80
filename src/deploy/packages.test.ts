import { describe, expect, it } from 'vitest';
import type { ApiEndpointKind, ClusterModel, Role } from '../inventory/model.js';
import { parseFacts } from './facts.js';
import { installPlan, packageFactsQuery, packageFindings } from './packages.js';

const model = (kind: ApiEndpointKind, installPackages = true): Pick<ClusterModel, 'apiEndpoint' | 'installPackages'> =>
  ({ apiEndpoint: { kind }, installPackages }) as Pick<ClusterModel, 'apiEndpoint' | 'installPackages'>;
const node = { roles: ['node'] as Role[] };
const master = { roles: ['etcd', 'master'] as Role[] };
const etcd = { roles: ['etcd'] as Role[] };

/** A host's facts with these commands (or paths) found. */
const withCommands = (...found: string[]) => parseFacts(found.map((c) => `command=${c}`).join('\n'), 0);
const NODE_TOOLS = ['iptables', 'python3', 'conntrack', 'socat'];

describe('OS packages', () => {
  it('asks each host for the proofs of what its role and the endpoint kind need, and for the package managers', () => {
    expect(packageFactsQuery(model('node-local'), node)).toEqual(['/usr/sbin/haproxy', ...NODE_TOOLS, 'apt-get', 'dnf']);
    expect(packageFactsQuery(model('node-local'), master)).toEqual([...NODE_TOOLS, 'apt-get', 'dnf']);
    expect(packageFactsQuery(model('vip'), master)).toEqual(['/usr/sbin/keepalived', ...NODE_TOOLS, 'apt-get', 'dnf']);
    expect(packageFactsQuery(model('vip'), node)).toEqual([...NODE_TOOLS, 'apt-get', 'dnf']);
    expect(packageFactsQuery(model('loadbalancer'), etcd)).toEqual([]);
  });

  it('installs what is missing with apt-get, its lists refreshed first, and stops the idle haproxy.service it brought', () => {
    const plan = installPlan(model('node-local'), node, withCommands('apt-get', 'python3', 'iptables', 'conntrack', 'socat'));
    expect(plan).toMatchObject({ manager: 'apt', packages: ['haproxy'] });
    expect(plan!.command).toBe(
      '{ apt-get -q -o DPkg::Lock::Timeout=120 update && DEBIAN_FRONTEND=noninteractive apt-get -q -y -o DPkg::Lock::Timeout=120 install ' +
        '--no-install-recommends haproxy && systemctl disable --now haproxy.service; } 2>&1',
    );
    // keepalived's own unit is not stopped: Debian's does not start without a config, and it may be the one used
    expect(installPlan(model('vip'), master, withCommands('dnf', ...NODE_TOOLS))!.command).toBe('{ dnf -y -q install keepalived; } 2>&1');
    expect(installPlan(model('vip'), node, withCommands('dnf', 'python3'))!.packages).toEqual(['iptables-nft', 'conntrack-tools', 'socat']);
  });

  it('installs nothing when all is there, when installPackages is false, or without apt-get or dnf', () => {
    expect(installPlan(model('node-local'), node, withCommands('apt-get', '/usr/sbin/haproxy', ...NODE_TOOLS))).toBeUndefined();
    expect(installPlan(model('node-local', false), node, withCommands('apt-get', ...NODE_TOOLS))).toBeUndefined();
    expect(installPlan(model('node-local'), node, withCommands(...NODE_TOOLS))).toBeUndefined();
  });

  it('preflight: a line saying prepare installs it; an error naming the package when it will not', () => {
    const facts = withCommands('apt-get', 'python3', 'iptables');
    expect(packageFindings(model('node-local'), node, facts)).toEqual([
      {
        check: 'packages',
        severity: 'warning',
        message: 'missing: /usr/sbin/haproxy (for the node-local API load balancer); prepare installs haproxy with apt-get',
      },
      {
        check: 'node-commands',
        severity: 'warning',
        message: 'not on the PATH: conntrack (for CNI hostport cleanup), socat (for kubectl port-forward); prepare installs conntrack, socat with apt-get',
      },
    ]);
    expect(packageFindings(model('node-local', false), node, facts)).toEqual([
      {
        check: 'packages',
        severity: 'error',
        message: 'missing: /usr/sbin/haproxy (for the node-local API load balancer); cluster.installPackages is false: install the package haproxy on the host',
      },
      {
        check: 'node-commands',
        severity: 'warning',
        message:
          'not on the PATH: conntrack (for CNI hostport cleanup), socat (for kubectl port-forward); ' +
          'cluster.installPackages is false: install the packages conntrack, socat on the host',
      },
    ]);
    expect(packageFindings(model('vip'), master, withCommands(...NODE_TOOLS))).toEqual([
      {
        check: 'packages',
        severity: 'error',
        message: 'missing: /usr/sbin/keepalived (for the API VIP); neither apt-get nor dnf is on the host to install keepalived with',
      },
    ]);
  });
});
