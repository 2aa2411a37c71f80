import { describe, expect, it } from 'vitest';
import type { ImageIndex } from '../images/load.js';
import { buildClusterPlan } from '../render/plan.js';
import { ALL_BINARIES, binaryIndexFor } from '../render/test-fixtures.js';
import { parseImageList } from './ctr.js';
import { importImagesStep, startContainerdStep } from './images.js';
import { runPhases } from './manager.js';
import { factsPhase } from './phases/facts.js';
import { factsRules, hostPlan, testCluster, testContext, type TestCluster } from './testing/cluster.js';
import { fakeExecutor, type Rule } from './testing/fake-executor.js';
import type { Phase } from './types.js';

const PAUSE = { name: 'registry.k8s.io/pause:3.10.1', digest: `sha256:${'a'.repeat(64)}` };
const BUSYBOX = { name: 'docker.io/library/busybox:test', digest: `sha256:${'b'.repeat(64)}` };
const IMAGES: ImageIndex = [
  { file: 'busybox.tar', localPath: '/b/images/busybox.tar', size: 2_000_000, sha256: 'b'.repeat(64), format: 'docker', images: [BUSYBOX] },
  { file: 'pause.tar', localPath: '/b/images/pause.tar', size: 2_000_000, sha256: 'a'.repeat(64), format: 'docker', images: [PAUSE] },
];

const withImages = (): TestCluster => {
  const base = testCluster();
  return { ...base, plan: buildClusterPlan(base.model, base.clusterFiles, binaryIndexFor(ALL_BINARIES), { images: IMAGES }) };
};

/** `ctr images ls` as containerd 1.6 prints it (the CRI plugin adds the sha256: refs). */
const ctrList = (images: readonly { name: string; digest: string }[]): string =>
  [
    'REF                              TYPE                                                 DIGEST  SIZE    PLATFORMS   LABELS',
    ...images.map((i) => `${i.name} application/vnd.docker.distribution.manifest.v2+json ${i.digest} 1.9 MiB linux/amd64 io.cri-containerd.image=managed`),
    `sha256:${'c'.repeat(64)} application/vnd.docker.distribution.manifest.v2+json ${PAUSE.digest} 1.9 MiB linux/amd64 io.cri-containerd.image=managed`,
    '',
  ].join('\n');

const listLines = (images: readonly { name: string; digest: string }[]): string[] => ctrList(images).split('\n').filter(Boolean);
const LIST = /ctr --address \/run\/containerd\/containerd\.sock -n k8s\.io images ls$/;
const IMPORT = /ctr --address \/run\/containerd\/containerd\.sock -n k8s\.io images import (\S+)$/;

/** A host whose containerd holds `present` and gains what ctr imports. */
const containerdRules = (host: string, present: { name: string; digest: string }[]): Rule[] => {
  const held = [...present];
  return [
    { host, command: /^deadline=/, reply: {} },
    { host, command: LIST, reply: () => ({ stdout: ctrList(held) }) },
    {
      host,
      command: IMPORT,
      reply: (call) => {
        const file = IMPORT.exec(call.command)![1]!.split('/').pop();
        held.push(...IMAGES.filter((a) => a.file === file).flatMap((a) => a.images));
        return { stdout: `unpacking ${file}...done\n` };
      },
    },
  ];
};

const importOnly: Phase = {
  name: 'nodes',
  title: 'Import images',
  hosts: (ctx) => ctx.plan.hosts.filter((h) => h.host.name === 'n1'),
  steps: () => [startContainerdStep, importImagesStep],
};

describe('offline images into containerd', () => {
  it('plans every archive on every kubelet host (masters included)', () => {
    const cluster = withImages();
    for (const name of ['m1', 'n1']) {
      expect(hostPlan(name, cluster).images?.map((a) => a.path)).toEqual(['/var/lib/kubeinstall/images/busybox.tar', '/var/lib/kubeinstall/images/pause.tar']);
      expect(hostPlan(name, cluster).files.find((f) => f.path === '/var/lib/kubeinstall/images/pause.tar')).toMatchObject({
        mode: 0o600,
        content: { kind: 'local', localPath: '/b/images/pause.tar' },
        restarts: [],
      });
    }
    expect(hostPlan('n1', testCluster()).images).toBeUndefined(); // an empty images/
  });

  it('imports only the archives whose images containerd lacks (or lists with another digest), then says what it imported', async () => {
    const cluster = withImages();
    const fake = fakeExecutor({ exec: [...factsRules({ n1: { images: listLines([PAUSE]) } }, cluster), ...containerdRules('n1', [PAUSE])] });
    const { ctx } = testContext(fake, { hosts: new Set(['n1']) }, cluster);
    await runPhases([factsPhase, importOnly], ctx, 'lines');
    expect(fake.unexpected).toEqual([]);
    // containerd ran untouched since the facts: what they listed is what it holds (no wait, no list before importing)
    expect(fake.execs('n1').map((c) => c.opts.step)).toEqual(['gather facts', 'import busybox.tar', 'list images']);
    const imports = fake.execs('n1').filter((c) => IMPORT.test(c.command));
    expect(imports.map((c) => c.command)).toEqual([expect.stringMatching(/images import \/var\/lib\/kubeinstall\/images\/busybox\.tar$/)]);
    expect(imports[0]!.opts.sudo).toBe(true);
    expect(ctx.outcomes.get('n1')?.notes).toEqual(['images imported: docker.io/library/busybox:test']);

    const held = [{ ...PAUSE, digest: BUSYBOX.digest }, BUSYBOX];
    const stale = fakeExecutor({ exec: [...factsRules({ n1: { images: listLines(held) } }, cluster), ...containerdRules('n1', held)] });
    const again = testContext(stale, { hosts: new Set(['n1']) }, cluster);
    await runPhases([factsPhase, importOnly], again.ctx, 'lines');
    expect(
      stale
        .execs('n1')
        .filter((c) => IMPORT.test(c.command))
        .map((c) => c.command),
    ).toEqual([expect.stringMatching(/pause\.tar$/)]);
  });

  it('a re-run imports nothing and says so, asking nothing beyond the facts (containerd untouched: not waited for)', async () => {
    const cluster = withImages();
    const fake = fakeExecutor({ exec: factsRules({ n1: { images: listLines([PAUSE, BUSYBOX]) } }, cluster) });
    const { ctx } = testContext(fake, { hosts: new Set(['n1']) }, cluster);
    await runPhases([factsPhase, importOnly], ctx, 'lines');
    expect(fake.unexpected).toEqual([]);
    expect(fake.execs('n1').map((c) => c.opts.step)).toEqual(['gather facts']);
    expect(ctx.outcomes.get('n1')?.notes ?? []).toEqual([]);
  });

  it('containerd started by this run: waited for until ctr gets an answer, then asked what it holds', async () => {
    const cluster = withImages();
    const fake = fakeExecutor({
      exec: [
        ...factsRules({ n1: { units: { 'containerd.service': 'inactive' } } }, cluster),
        { host: 'n1', command: /systemctl restart --no-block containerd\.service/, reply: {} },
        ...containerdRules('n1', [PAUSE, BUSYBOX]),
      ],
    });
    const { ctx } = testContext(fake, { hosts: new Set(['n1']) }, cluster);
    await runPhases([factsPhase], ctx, 'lines');
    expect(await startContainerdStep.run(ctx, hostPlan('n1', cluster), () => {})).toBe('started containerd.service');
    expect(await importImagesStep.run(ctx, hostPlan('n1', cluster), () => {})).toBe(
      'nothing to import: docker.io/library/busybox:test, registry.k8s.io/pause:3.10.1 already in containerd (k8s.io)',
    );
    const steps = fake.execs('n1').map((c) => c.opts.step);
    expect(steps).toEqual(['gather facts', 'start containerd.service', 'wait for containerd.service', 'list images']);
    expect(fake.execs('n1')[2]!.command).toContain('/usr/local/bin/ctr --address /run/containerd/containerd.sock -n k8s.io version');
  });

  it('a dry run says what it would import from the facts, and runs no ctr', async () => {
    const cluster = withImages();
    const fake = fakeExecutor({ exec: factsRules({ n1: {} }, cluster) });
    const { ctx } = testContext(fake, { hosts: new Set(['n1']), dryRun: true }, cluster);
    await runPhases([factsPhase], ctx, 'lines');
    expect(await importImagesStep.run(ctx, hostPlan('n1', cluster), () => {})).toBe(
      'would import docker.io/library/busybox:test, registry.k8s.io/pause:3.10.1',
    );
    expect(fake.unexpected).toEqual([]);
  });

  it('a failed import names the host and the archive, with ctr’s complaint', async () => {
    const cluster = withImages();
    const fake = fakeExecutor({
      exec: [
        { host: 'n1', command: /^deadline=/, reply: {} },
        { host: 'n1', command: LIST, reply: { stdout: ctrList([]) } },
        { host: 'n1', command: IMPORT, reply: { code: 1, stderr: 'ctr: unexpected EOF\n' } },
      ],
    });
    const { ctx } = testContext(fake, { hosts: new Set(['n1']) }, cluster);
    await expect(importImagesStep.run(ctx, hostPlan('n1', cluster), () => {})).rejects.toThrow(
      'n1: ctr could not import busybox.tar (/var/lib/kubeinstall/images/busybox.tar): ctr: unexpected EOF',
    );
  });

  it("reads ctr's list: name and digest per row, header and blank lines skipped", () => {
    expect([...parseImageList(ctrList([PAUSE]).split('\n'))]).toEqual([
      [PAUSE.name, PAUSE.digest],
      [`sha256:${'c'.repeat(64)}`, PAUSE.digest],
    ]);
  });
});
