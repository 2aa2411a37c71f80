// End to end on the test bed: `kubeinstall reset` on a master (+etcd) and a node (198.18.52.0/24, the
// stand-ins, iptables in the image). A dry run and bad input change nothing; a reset leaves each host's
// file list as the image had it (but for the few files a host changes by itself: IGNORED), no unit of
// ours known to systemd and no KUBE-* chain (made by hand here, as kube-proxy names them: the stand-in
// makes none) while a foreign chain survives; etcd's data is kept aside unless --purge-data; a deploy
// afterwards succeeds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UNITS } from '../../../src/render/units.js';
import { startKubeinstall, type CliResult } from '../kubeinstall.js';
import { startSetting, type BedHost, type Setting } from './fixtures.js';

const M1: BedHost = { name: 'm1', address: '198.18.52.11', roles: ['etcd', 'master'] };
const N1: BedHost = { name: 'n1', address: '198.18.52.12', roles: ['node'] };
const HOSTS = [M1, N1];
// keepalived.service is Debian's (the test-bed image has the package): kubeinstall only adds a drop-in to it.
const OUR_UNITS = Object.values(UNITS).filter((u) => u !== UNITS.keepalived);

/**
 * What a host changes by itself between two looks, whatever kubeinstall does (names, not contents, are
 * compared): apt-daily.timer's lock file, the stamps of persistent timers, logrotate.timer's state.
 */
const IGNORED: readonly RegExp[] = [/^\/var\/lib\/apt\/daily_lock$/, /^\/var\/lib\/systemd\/timers\//, /^\/var\/lib\/logrotate\//];
const LOOKED_AT = '/etc /opt /usr/local /var/lib';

/** Every path under LOOKED_AT with its type (`f /etc/hostname`), but for IGNORED. */
const fileList = async (host: string): Promise<string[]> => {
  const { stdout } = await s.tb.hostExec(host, `find ${LOOKED_AT} -xdev -printf '%y %p\\n' | sort`);
  return stdout.split('\n').filter((l) => l && !IGNORED.some((re) => re.test(l.slice(2))));
};

const iptablesSave = async (host: string): Promise<string> =>
  (await s.tb.hostExec(host, 'iptables-save; ip6tables-save')).stdout.replace(/^#.*\n/gm, '').replace(/\[\d+:\d+\]/g, '');

/** Units of ours systemd knows (loaded, failed or installed). */
const ourLoadedUnits = async (host: string): Promise<string[]> => {
  const { stdout } = await s.tb.hostExec(host, 'systemctl list-units --all --plain --no-legend; systemctl list-unit-files --no-legend');
  return [...new Set(stdout.split('\n').map((l) => l.trim().split(/\s+/)[0]!))].filter((u) => OUR_UNITS.includes(u as (typeof OUR_UNITS)[number])).sort();
};

/** kube-proxy's chains (names, jumps from the built-in chains, jumps between them) and one foreign chain, made by hand. */
const MAKE_CHAINS = [
  'iptables -t nat -N KUBE-SERVICES',
  'iptables -t nat -N KUBE-SVC-ABCDEF',
  'iptables -t nat -N KUBE-MARK-MASQ',
  'iptables -t nat -N KUBE-POSTROUTING',
  'iptables -t nat -A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
  'iptables -t nat -A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
  'iptables -t nat -A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
  'iptables -t nat -A KUBE-SERVICES -d 198.18.53.1/32 -p tcp --dport 443 -j KUBE-SVC-ABCDEF',
  'iptables -t nat -A KUBE-SVC-ABCDEF -j KUBE-MARK-MASQ',
  'iptables -t nat -A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000',
  'iptables -t filter -N KUBE-FORWARD',
  'iptables -t filter -A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD',
  'iptables -t mangle -N KUBE-PROXY-CANARY',
  'ip6tables -t filter -N KUBE-FIREWALL',
  'ip6tables -t filter -A INPUT -j KUBE-FIREWALL',
  // someone else's: must survive
  'iptables -t filter -N SITE-FIREWALL',
  'iptables -t filter -A SITE-FIREWALL -s 198.18.52.99/32 -j DROP',
  'iptables -t filter -A INPUT -j SITE-FIREWALL',
].join(' && ');

const reset = async (...args: string[]): Promise<CliResult> => await startKubeinstall(['reset', '-i', s.inventory, ...args]).done;

let s: Setting;
const image = new Map<string, string[]>();

beforeAll(async () => {
  s = await startSetting({ name: 'reset', subnet: '198.18.52.0/24' }, HOSTS, { extraPackages: ['iptables'] });
  for (const h of HOSTS) image.set(h.name, await fileList(h.name));
  await s.deploy();
  for (const h of HOSTS) await s.tb.hostExec(h.name, MAKE_CHAINS);
});
afterAll(async () => {
  await s?.stop();
});

/** The host as the tests compare it: files, iptables rules, units of ours. */
const look = async (host: string) => ({ files: await fileList(host), iptables: await iptablesSave(host), units: await ourLoadedUnits(host) });

/** Back as the image was: the file list, no KUBE-* chain but the foreign one, no unit of ours. */
const expectPristine = async (host: string): Promise<void> => {
  const now = await look(host);
  expect(now.files).toEqual(image.get(host));
  expect(now.iptables).not.toMatch(/KUBE-/);
  expect(now.iptables).toMatch(/^:SITE-FIREWALL - $/m);
  expect(now.iptables).toMatch(/^-A INPUT -j SITE-FIREWALL$/m);
  expect(now.units).toEqual([]);
};

describe('kubeinstall reset', () => {
  it('--dry-run lists per host what would go and changes nothing', async () => {
    const before = await Promise.all(HOSTS.map((h) => look(h.name)));
    // One master: no node-local load balancer (kube-lb) anywhere.
    expect(before.map((b) => b.units)).toEqual([
      OUR_UNITS.filter((u) => u !== UNITS.kubeLb).sort(),
      [UNITS.containerd, UNITS.kubeProxy, UNITS.kubelet, UNITS.podRoutes].sort(),
    ]);
    const r = await reset('--dry-run');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^n1: would stop and disable containerd\.service, kube-proxy\.service, kubeinstall-pod-routes\.service, kubelet\.service$/m);
    expect(r.out).toMatch(
      new RegExp(
        '^m1: would remove the chains iptables mangle: KUBE-PROXY-CANARY, iptables filter: KUBE-FORWARD, ' +
          'iptables nat: KUBE-MARK-MASQ KUBE-POSTROUTING KUBE-SERVICES KUBE-SVC-ABCDEF, ip6tables filter: KUBE-FIREWALL$',
        'm',
      ),
    );
    expect(r.out).toMatch(/^m1: would remove .*\/etc\/kubernetes\/pki\/etcd\/server\.key, .*\/usr\/local\/bin\/kubelet, /m);
    expect(r.out).toMatch(/^m1: would keep aside \/var\/lib\/etcd as \/var\/lib\/etcd\.reset-\d{8}T\d{6}Z$/m);
    expect(r.out).toMatch(/^n1: would remove \/var\/lib\/kubelet, \/var\/lib\/containerd, \/run\/containerd, \/opt\/containerd$/m);
    expect(r.out).not.toMatch(/^n1: would keep aside/m);
    expect(await Promise.all(HOSTS.map((h) => look(h.name)))).toEqual(before);
  });

  it('bad input changes nothing: the whole cluster without --yes off a terminal, --hosts naming a host not in the inventory (exit 2)', async () => {
    const before = await Promise.all(HOSTS.map((h) => look(h.name)));
    const noYes = await reset();
    expect([noYes.code, noYes.err]).toEqual([
      2,
      expect.stringMatching(/kubeinstall reset would:\n[\s\S]*it does this only with --yes when not run at a terminal/),
    ]);
    const unknown = await reset('--hosts', 'n1,n9', '--yes');
    expect([unknown.code, unknown.err]).toEqual([2, expect.stringMatching(/--hosts: not in .*inventory\.yaml: n9 \(hosts: m1, n1\)/)]);
    expect(await Promise.all(HOSTS.map((h) => look(h.name)))).toEqual(before);
  });

  it('reset --purge-data --yes of the node, after one stopped half-way, leaves it as the image had it and the master untouched', async () => {
    const master = await look('m1');
    // As a reset stopped (Ctrl-C, a lost connection) after the kubelet's unit and a few files went.
    await s.tb.hostExec(
      'n1',
      'systemctl disable --quiet --now kubelet.service && ' +
        'rm /etc/systemd/system/kubelet.service /usr/local/bin/kubelet /etc/kubernetes/pki/ca.crt && systemctl daemon-reload',
    );
    const r = await reset('--hosts', 'n1', '--purge-data', '--yes');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(
      /^n1: stopped and disabled containerd\.service, kube-proxy\.service, kubeinstall-pod-routes\.service; removed the chains .*; removed 24: /m,
    );
    expect(r.out).toMatch(/^log: .*\/logs\/reset-[0-9T-]+Z\.log$/m);
    expect(r.out).not.toMatch(/^m1:/m);
    await expectPristine('n1');
    expect(await look('m1')).toEqual(master);
  });

  it('reset --yes keeps etcd data aside at the printed path; a reset host is a no-op; a deploy afterwards succeeds', async () => {
    const r = await reset('--yes');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^n1: nothing to reset$/m);
    const aside = /^m1: .*kept aside \/var\/lib\/etcd as (\/var\/lib\/etcd\.reset-\d{8}T\d{6}Z)/m.exec(r.out)?.[1];
    expect(aside).toBeDefined();
    await s.tb.hostExec('m1', `test -d ${aside}/member/snap && test ! -e /var/lib/etcd`);
    // The kept data is all that is left: the operator deletes it when no longer needed.
    expect((await fileList('m1')).filter((l) => !l.slice(2).startsWith(aside!))).toEqual(image.get('m1'));
    await s.tb.hostExec('m1', `rm -r ${aside}`);
    await expectPristine('m1');
    const again = await s.deploy();
    expect(again.summary.hosts.map((h) => [h.name, h.uploaded])).toEqual([
      ['m1', 64],
      ['n1', 27],
    ]);
  });

  it('reset --purge-data --yes of the whole cluster leaves every host as the image had it', async () => {
    const r = await reset('--purge-data', '--yes');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^m1: .*deleted \/var\/lib\/etcd \(--purge-data\)/m);
    for (const h of HOSTS) await expectPristine(h.name);
  });
});
