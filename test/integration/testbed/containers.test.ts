// The test bed's hosts with `containers: true` run real containers: Debian's containerd 1.6 and runc inside a
// host, a test image imported with ctr and run with the systemd cgroup driver (as deploy's containerd config
// asks), its cgroups below the host's own in every hierarchy; teardown leaves none of them behind.
import { existsSync, readdirSync } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busyboxImage, writeTestImage } from '../../images/test-image.js';
import { startTestbed, type Testbed } from '../../../src/lab/index.js';

const network = { name: 'ctr', subnet: '198.18.63.0/24' };
const host = { name: 'c1', address: '198.18.63.11' };
const IMAGE = 'registry.test/busybox:1';
/** Debian's containerd package and runc, as deploy uploads them from the binaries folder. */
const BINARIES = ['/usr/bin/containerd', '/usr/bin/containerd-shim-runc-v2', '/usr/bin/ctr', '/usr/sbin/runc'];
const HOST_CGROUP = `kubeinstall-testbed-${host.address}`;
const hostCgroups = (): string[] => readdirSync('/sys/fs/cgroup').map((h) => `/sys/fs/cgroup/${h}/${HOST_CGROUP}`);

describe('test bed hosts that run containers', () => {
  let tb: Testbed | undefined;
  const exec = (command: string) => tb!.hostExec(host.name, command, { timeoutMs: 60_000 });

  beforeAll(async () => {
    tb = await startTestbed({ hosts: [host], network, containers: true });
    const root = tb.hosts[0]!.root;
    await Promise.all(BINARIES.map((b) => copyFile(b, join(root, 'usr/local/bin', b.split('/').at(-1)!))));
    writeTestImage(busyboxImage(IMAGE), join(root, 'root/busybox.tar')); // not /tmp: a tmpfs inside the host
    await exec('systemd-run --unit=containerd --property=Delegate=yes --property=KillMode=process /usr/local/bin/containerd');
    await exec('for i in $(seq 100); do ctr version >/dev/null 2>&1 && exit 0; sleep 0.1; done; exit 1');
  });
  afterAll(async () => {
    await tb?.stop();
  });

  it('keeps containerd state off the overlay root, with writable cgroup controllers', async () => {
    expect((await exec('findmnt -n -o FSTYPE --target /var/lib/containerd')).stdout.trim()).toBe('ext4');
    expect((await exec('findmnt -n -o OPTIONS /sys/fs/cgroup/memory')).stdout).toMatch(/^rw,/);
    expect((await exec('systemctl is-active testbed-cgroups-rw.service')).stdout.trim()).toBe('active');
    for (const cg of hostCgroups()) expect(existsSync(cg), cg).toBe(true);
  });

  it('imports a test image with ctr and runs it with runc, in a cgroup below the host', async () => {
    expect((await exec('ctr -n k8s.io images import /root/busybox.tar')).stdout).toContain(IMAGE);
    const once = await exec(`ctr -n k8s.io run --rm --runc-systemd-cgroup --cgroup ki.slice:ctr:t1 ${IMAGE} t1 /bin/sh -c 'echo hello from pid $$'`);
    expect(once.stdout).toBe('hello from pid 1\n');
    // one left running (its shell ends on SIGTERM, so the host's poweroff does not wait for it), in the host's cgroup everywhere
    await exec(`ctr -n k8s.io run -d --runc-systemd-cgroup --cgroup ki.slice:ctr:t2 ${IMAGE} t2 /bin/sh -c 'trap "exit 0" TERM; sleep 600 & wait'`);
    const pid = (await exec('ctr -n k8s.io task ls | awk \'$1 == "t2" { print $2 }\'')).stdout.trim();
    expect(pid).toMatch(/^\d+$/);
    const cgroups = (await exec(`cat /proc/${pid}/cgroup`)).stdout.trim().split('\n');
    expect(cgroups.length).toBeGreaterThan(2);
    for (const line of cgroups) expect(line).toMatch(new RegExp(`^\\d+:[^:]*:/${HOST_CGROUP}/(payload/)?ki\\.slice/ctr-t2\\.scope$`));
  });

  it('leaves none of the host cgroups behind', async () => {
    await tb!.stop();
    tb = undefined;
    for (const cg of hostCgroups()) expect(existsSync(cg), cg).toBe(false);
  });
});
