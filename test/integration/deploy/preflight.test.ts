// End to end on the test bed (198.18.23.11-12, each host with its own network): preflight stops a deploy that cannot work before anything
// is uploaded. The versions of the real Debian etcd and containerd here, and the missing iptables,
// fail it unless ignored by name; a target file system too small for the upload fails it too.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PhaseFailed } from '../../../src/deploy/manager.js';
import { startSetting, type BedHost, type Setting } from './fixtures.js';

const HOSTS: BedHost[] = [
  { name: 'pf-m', address: '198.18.23.11', roles: ['etcd', 'master'] },
  { name: 'pf-n', address: '198.18.23.12', roles: ['node'] },
];
/** Where a deploy leaves anything on a host; preflight must leave all of it untouched. */
const DEPLOY_PATHS = '/usr/local/bin /etc/kubernetes /etc/etcd /etc/containerd /etc/systemd/system/etcd.service /var/lib/kubeinstall';
let s: Setting;

beforeAll(async () => {
  s = await startSetting({ name: 'preflight', subnet: '198.18.23.0/24' }, HOSTS);
});
afterAll(async () => {
  await s?.stop();
});

const preflightFailure = async (ignored?: ReadonlySet<string>): Promise<PhaseFailed> => {
  const err = await s.deploy(ignored ? { ignorePreflight: ignored } : {}).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(PhaseFailed);
  expect((err as PhaseFailed).phase).toBe('preflight');
  return err as PhaseFailed;
};

const expectNothingDeployed = async (): Promise<void> => {
  for (const h of HOSTS) {
    const { stdout } = await s.tb.hostExec(h.name, `find ${DEPLOY_PATHS} -mindepth 0 2>/dev/null; true`);
    expect(
      stdout
        .trim()
        .split('\n')
        .filter((p) => p && p !== '/usr/local/bin'),
      h.name,
    ).toEqual([]);
  }
};

describe('preflight on real hosts', () => {
  it("without the test bed's ignores: fails naming each check, host and version, and uploads nothing", async () => {
    const err = await preflightFailure(new Set());
    expect(err.failures.map((f) => f.host).sort()).toEqual(['pf-m', 'pf-n']);
    const of = (host: string): string => err.failures.find((f) => f.host === host)!.message;
    expect(of('pf-m')).toContain('[etcd-version] etcd 3.4.23 is older than 3.5.24, the oldest etcd kubeadm accepts; Kubernetes 1.34 runs with etcd 3.6');
    expect(of('pf-n')).toContain(
      '[containerd-version] containerd 1.6.20 is not supported with Kubernetes 1.34; containerd supports it with 2.1.3+, 2.0.6+, 1.7.28+, 1.6.39+',
    );
    expect(of('pf-n')).toContain('[node-commands] not on the PATH: iptables (for kube-proxy (iptables mode))');
    expect(of('pf-n')).toContain("[images] the pause image registry.k8s.io/pause:3.10.1 (containerd's sandbox image, which every pod needs) is neither in");
    expect(err.message).toMatch(/--ignore-preflight-errors=containerd-version,node-commands|--ignore-preflight-errors=node-commands,containerd-version/);
    await expectNothingDeployed();
  });

  it('a target file system too small for the upload: fails naming host, mount point, needed and free, and uploads nothing', async () => {
    await s.tb.hostExec('pf-m', 'mount -t tmpfs -o size=32m kubeinstall-small /usr/local/bin');
    try {
      const err = await preflightFailure();
      expect(err.failures.map((f) => [f.host, f.step])).toEqual([['pf-m', 'checks']]);
      expect(err.failures[0]!.message).toMatch(
        /\[disk-space\] \/usr\/local\/bin \(for \/usr\/local\/bin\): needs \d+\.\d MiB \(\d+\.\d MiB to upload \+ margin\), 32\.0 MiB free/,
      );
      expect((await s.tb.hostExec('pf-m', 'ls -A /usr/local/bin')).stdout).toBe('');
      await expectNothingDeployed();
    } finally {
      await s.tb.hostExec('pf-m', 'umount /usr/local/bin');
    }
  });
});
