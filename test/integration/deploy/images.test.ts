// End to end on the test bed (198.18.60.0/24, hosts that run real containers): deploy imports the archives of
// <binariesDir>/images/ into containerd's k8s.io namespace on every kubelet host with ctr (Debian's containerd 1.6),
// a re-run imports nothing, a file that is not an image stops deploy before anything connects, and preflight names
// the host and the image when the pause image is nowhere.
import { mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseImageList } from '../../../src/deploy/ctr.js';
import { PhaseFailed } from '../../../src/deploy/manager.js';
import { indexImages } from '../../../src/images/load.js';
import { loadInventory } from '../../../src/inventory/load.js';
import { clusterImages } from '../../../src/render/images.js';
import { busyboxImage, pauseImage, writeTestImage } from '../../images/test-image.js';
import { startSetting, TESTBED_IGNORED_CHECKS, type BedHost, type Setting } from './fixtures.js';

const HOSTS: BedHost[] = [
  { name: 'im-m', address: '198.18.60.11', roles: ['etcd', 'master'] },
  { name: 'im-n', address: '198.18.60.12', roles: ['node'] },
];
const BUSYBOX = 'registry.test/tools/busybox:1.36';
/** The test bed's ignores but this file's own check. */
const IGNORED = new Set([...TESTBED_IGNORED_CHECKS].filter((c) => c !== 'images'));
let s: Setting;
let pause: string;

const ctrImages = async (host: string): Promise<string> => (await s.tb.hostExec(host, 'ctr -n k8s.io images ls')).stdout;
const importNotes = (r: Awaited<ReturnType<Setting['deploy']>>): string[] =>
  r.summary.hosts.flatMap((h) => h.notes.filter((n) => n.startsWith('images imported')).map((n) => `${h.name}: ${n}`));

beforeAll(async () => {
  s = await startSetting({ name: 'images', subnet: '198.18.60.0/24' }, HOSTS, { containers: true });
  pause = clusterImages((await loadInventory(s.inventory)).model).pause;
  await mkdir(join(s.binariesDir, 'images'));
  writeTestImage(pauseImage(pause), join(s.binariesDir, 'images/pause.tar'));
  writeTestImage(busyboxImage(BUSYBOX), join(s.binariesDir, 'images/busybox.tar'));
}, 120_000);
afterAll(async () => {
  await s?.stop();
});

describe('offline images', () => {
  it('imports every archive into k8s.io on every kubelet host before the kubelet starts; a re-run imports nothing', async () => {
    const first = await s.deploy({ ignorePreflight: IGNORED });
    const log = await readFile(first.logPath, 'utf8');
    expect(importNotes(first).sort()).toEqual([`im-m: images imported: ${BUSYBOX}, ${pause}`, `im-n: images imported: ${BUSYBOX}, ${pause}`]);
    // what deploy read from the archives is what containerd lists after importing them
    const expected = (await indexImages(s.binariesDir)).flatMap((a) => a.images.map((i) => [i.name, i.digest]));
    expect(expected.map(([name]) => name).sort()).toEqual([pause, BUSYBOX]);
    for (const h of HOSTS) {
      const listed = parseImageList((await ctrImages(h.name)).split('\n'));
      for (const [name, digest] of expected) expect(listed.get(name!), `${h.name}: ${name}`).toBe(digest);
      // after containerd started, before the kubelet did (the command log, in order per host)
      const steps = log.split('\n').flatMap((l) => (l.includes(` ${h.name} [`) ? [/ \[([^\]]+)\] /.exec(l)![1]!] : []));
      const at = (step: RegExp): number => steps.findIndex((x) => step.test(x));
      expect(at(/^import pause\.tar$/), h.name).toBeGreaterThan(at(/^start .*containerd\.service/));
      expect(at(/^import pause\.tar$/), h.name).toBeLessThan(at(/^start .*kubelet\.service/));
      // the image works: a container from it runs (runc, the host's cgroups)
      const ran = await s.tb.hostExec(h.name, `ctr -n k8s.io run --rm --runc-systemd-cgroup --cgroup ki.slice:ctr:t ${BUSYBOX} t /bin/echo from-busybox`);
      expect(ran.stdout).toBe('from-busybox\n');
    }
    const again = await s.deploy({ ignorePreflight: IGNORED });
    expect(importNotes(again)).toEqual([]);
    expect(again.summary.filesUploaded).toBe(0);
    expect(again.summary.servicesRestarted).toBe(0);
  }, 180_000);

  it('a file in images/ that is not an image: exit 2 naming the file, before anything connects', async () => {
    const bad = join(s.binariesDir, 'images/notes.tar');
    await writeFile(bad, 'these are notes, not an image\n');
    try {
      const err = await s.deploy({ ignorePreflight: IGNORED }).catch((e: unknown) => e);
      expect(err).toMatchObject({ exitCode: 2, message: `${bad} is not an image archive: no tar header at its start` });
      expect((await s.tb.hostExec('im-n', 'ls /var/lib/kubeinstall/images')).stdout.split('\n').filter(Boolean)).toEqual(['busybox.tar', 'pause.tar']);
    } finally {
      await unlink(bad);
    }
  });

  it('the pause image neither in images/ nor in containerd: preflight names the host and the image; a host that has it passes', async () => {
    await unlink(join(s.binariesDir, 'images/pause.tar'));
    await s.tb.hostExec('im-n', `ctr -n k8s.io images rm ${pause}`);
    const err = await s.deploy({ ignorePreflight: IGNORED }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PhaseFailed);
    const failed = err as PhaseFailed;
    expect(failed.phase).toBe('preflight');
    expect(failed.failures.map((f) => f.host)).toEqual(['im-n']); // im-m still has it in containerd
    expect(failed.failures[0]!.message).toContain(
      `[images] the pause image ${pause} (containerd's sandbox image, which every pod needs) is neither in ${join(s.binariesDir, 'images')}/ ` +
        'nor in containerd here, and no registry mirror serves registry.k8s.io (cluster.registries): put its archive in images/',
    );
  });
});
