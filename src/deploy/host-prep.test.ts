import { describe, expect, it } from 'vitest';
import type { Host } from '../inventory/model.js';
import type { HostPlan } from '../render/types.js';
import { inlineFile } from './testing/files.js';
import type { Facts } from './facts.js';
import { prepDecisions } from './host-prep.js';
import { parseSysctlDropIn } from './host-settings.js';

const hp: HostPlan = {
  host: { name: 'n1', roles: ['node'] } as unknown as Host,
  services: [],
  files: [
    inlineFile('/etc/modules-load.d/k8s.conf', '# for kube-proxy\noverlay\nbr_netfilter\n'),
    inlineFile('/etc/sysctl.d/k8s.conf', 'net.ipv4.ip_forward = 1\nnet.bridge.bridge-nf-call-iptables=1\n'),
  ],
};
const facts = (over: Partial<Facts>): Facts =>
  ({
    swapDevices: 0,
    firewalldActive: false,
    ufwActive: false,
    systemdResolvedActive: false,
    selinux: 'absent',
    loadedModules: new Set(['overlay', 'br_netfilter']),
    sysctls: new Map([
      ['net.ipv4.ip_forward', '1'],
      ['net.bridge.bridge-nf-call-iptables', '1'],
    ]),
    procSysWritable: true,
    hasModprobe: true,
    ...over,
  }) as Facts;

describe('host preparation', () => {
  it('does nothing on a prepared host', () => {
    expect(prepDecisions(facts({}), hp)).toEqual([]);
  });

  it('fixes what it can with one command per item', () => {
    const d = prepDecisions(facts({ swapDevices: 2, firewalldActive: true, loadedModules: new Set(['overlay']), sysctls: new Map() }), hp);
    expect(d.map((x) => [x.item, x.command])).toEqual([
      ['firewall', 'systemctl disable --now firewalld'],
      ['swap', expect.stringMatching(/^swapoff -a && sed .* \/etc\/fstab$/)],
      ['modules', 'modprobe br_netfilter'],
      ['sysctls', 'sysctl -q -w net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1'],
    ]);
  });

  it('reports, with the reason, what a container-like host does not allow', () => {
    const d = prepDecisions(
      facts({ loadedModules: new Set(), hasModprobe: false, sysctls: new Map([['net.ipv4.ip_forward', '0']]), procSysWritable: false }),
      hp,
    );
    expect(d).toEqual([
      { item: 'modules', problem: 'not loaded: overlay, br_netfilter', blocked: expect.stringContaining('no modprobe') },
      { item: 'sysctls', problem: expect.stringContaining('net.ipv4.ip_forward=1'), blocked: expect.stringContaining('/proc/sys is read-only') },
    ]);
  });

  it('parses sysctl drop-ins in both spellings', () => {
    expect(parseSysctlDropIn('; c\n# c\nnet/ipv4/ip_forward=1\n-kernel.x = a b\n')).toEqual([
      { key: 'net.ipv4.ip_forward', value: '1' },
      { key: 'kernel.x', value: 'a b' },
    ]);
  });
});
