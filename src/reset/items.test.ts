import { describe, expect, it } from 'vitest';
import type { Cidr } from '../inventory/model.js';
import { mountsUnder, podRoutes, RESET_ITEMS, recordUnits, type ResetInput } from './items.js';

const POD_CIDR: Cidr = { text: '198.18.64.0/18', family: 4, prefix: 18 };
const input = (record: readonly string[], purgeData = false): ResetInput => ({
  record,
  podCidr: POD_CIDR,
  purgeData,
  etcdAside: '/var/lib/etcd.reset-20261201T060000Z',
});
const item = (title: string) => RESET_ITEMS.find((i) => i.title === title)!;

describe('what reset removes', () => {
  it('stops the units whose unit files or drop-ins the record holds, and no other', () => {
    expect(
      recordUnits([
        '/etc/systemd/system/kubelet.service',
        '/etc/systemd/system/keepalived.service.d/10-kubeinstall.conf',
        '/etc/systemd/system/kubelet.service', // twice: once
        '/etc/systemd/system/multi-user.target.wants/kubelet.service', // a link systemd makes, not ours to name
        '/etc/keepalived/keepalived.conf',
        '/usr/local/bin/kubelet',
      ]),
    ).toEqual(['kubelet.service', 'keepalived.service']);
    expect(item('stop units').inspect(input(['/usr/local/bin/kubelet']))).toBeUndefined();
  });

  it('disables a loaded unit, forgets a failed one whose file is gone, leaves the rest', () => {
    const stop = item('stop units');
    const out = 'kubelet.service loaded active \netcd.service not-found failed \nkube-proxy.service not-found inactive \n';
    expect(stop.removal(out, input([]))).toEqual({
      verb: ['stop and disable', 'stopped and disabled'],
      what: ['kubelet.service', 'etcd.service'],
      command: 'systemctl disable --quiet --now -- kubelet.service; rc=$?; systemctl reset-failed -- kubelet.service etcd.service 2>/dev/null; exit $rc',
    });
    expect(stop.removal('kube-proxy.service not-found inactive \n', input([]))).toBeUndefined();
  });

  it('removes the routes into the pod range, whatever their type, and no other', () => {
    const routes = [
      'default via 198.18.52.1 dev host0',
      '198.18.52.0/24 dev host0 proto kernel scope link src 198.18.52.12',
      '198.18.65.0/24 via 198.18.52.11 dev host0',
      'blackhole 198.18.64.0/24 proto bird',
      '198.18.66.7 dev cali1234 scope link',
      '198.18.128.0/24 dev other',
    ].join('\n');
    expect(podRoutes(routes, POD_CIDR)).toEqual(['198.18.65.0/24', '198.18.64.0/24', '198.18.66.7']);
    expect(item('remove pod routes').removal(routes, input([]))?.command).toBe(
      'ip -4 route del 198.18.65.0/24 && ip -4 route del 198.18.64.0/24 && ip -4 route del 198.18.66.7',
    );
  });

  it('unmounts what is mounted under the state folders of the services the record installed, last mounted first', () => {
    const mounts = [
      'tmpfs /run tmpfs rw 0 0',
      'tmpfs /var/lib/kubelet/pods/a/volumes/kubernetes.io~projected/kube-api-access tmpfs rw 0 0',
      'shm /run/containerd/io.containerd.grpc.v1.cri/sandboxes/x/shm tmpfs rw 0 0',
      'tmpfs /var/lib/kubelet/pods/b/volumes/my\\040secret tmpfs rw 0 0',
      'tmpfs /var/lib/kubelet2 tmpfs rw 0 0',
    ].join('\n');
    expect(mountsUnder(mounts, ['/var/lib/kubelet'])).toEqual([
      '/var/lib/kubelet/pods/b/volumes/my secret',
      '/var/lib/kubelet/pods/a/volumes/kubernetes.io~projected/kube-api-access',
    ]);
    expect(item('unmount').removal(mounts, input(['/usr/local/bin/kubelet', '/usr/local/bin/containerd']))?.what).toHaveLength(3);
    expect(item('unmount').removal(mounts, input([]))).toBeUndefined(); // nothing of ours installed: not ours to unmount
  });

  it("keeps etcd's data aside, or deletes it with --purge-data; only where the record shows etcd installed", () => {
    const etcd = item('etcd data');
    const record = ['/usr/local/bin/etcd'];
    expect(etcd.removal('/var/lib/etcd\n', input(record))?.command).toBe('mv -T -- /var/lib/etcd /var/lib/etcd.reset-20261201T060000Z');
    expect(etcd.removal('/var/lib/etcd\n', input(record, true))?.command).toBe('rm -rf --one-file-system -- /var/lib/etcd');
    expect(etcd.removal('', input(record))).toBeUndefined();
    expect(etcd.inspect(input(['/usr/local/bin/kubelet']))).toBeUndefined();
  });

  it("removes the folders left empty: the layout's own (the CNI plugins' too), and containerd's CNI folder when containerd is in the record", () => {
    const folders = item('remove empty folders');
    expect(folders.inspect(input([]))).toMatch(/^for d in \/etc\/kubernetes \/etc\/etcd \/etc\/containerd \/var\/lib\/kube-proxy \/opt\/cni; do/);
    expect(folders.inspect(input(['/usr/local/bin/containerd']))).toMatch(
      /^for d in \/etc\/kubernetes \/etc\/etcd \/etc\/containerd \/var\/lib\/kube-proxy \/opt\/cni \/etc\/cni; do/,
    );
  });
});
