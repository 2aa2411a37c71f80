import { describe, expect, it } from 'vitest';
import { LAB_COMMANDS, labProblems, type LabFacts } from './prerequisites.js';

const READY: LabFacts = {
  root: true,
  commands: new Set([...LAB_COMMANDS.map((c) => c.command), 'debootstrap', 'zstd']),
  image: undefined,
  cacheDir: '/var/cache/kubeinstall-testbed',
  pid1Systemd: false,
  cgroupHierarchies: new Set(['systemd', 'unified', 'memory']),
  range: '198.18.240.0/20',
  networksRead: true,
  freeSubnet: '198.18.240.0/24',
};
const without = (...commands: string[]): ReadonlySet<string> => new Set([...READY.commands].filter((c) => !commands.includes(c)));

describe('lab prerequisites', () => {
  it('a ready machine has no problem', () => {
    expect(labProblems(READY)).toEqual([]);
  });

  it('gives one message per missing thing, each saying what to do', () => {
    expect(labProblems({ ...READY, root: false })).toEqual([expect.stringMatching(/^not root: .*run it with sudo$/)]);
    expect(labProblems({ ...READY, commands: without('systemd-nspawn') })).toEqual(['systemd-nspawn not found: apt-get install systemd-container']);
    expect(labProblems({ ...READY, commands: without('debootstrap') })).toEqual([
      expect.stringMatching(/^no host image in \/var\/cache\/kubeinstall-testbed and no debootstrap to build one: apt-get install debootstrap/),
    ]);
    expect(labProblems({ ...READY, cgroupHierarchies: new Set(['unified']) })).toEqual([
      expect.stringMatching(/^cgroups: \/sys\/fs\/cgroup\/systemd is not mounted/),
    ]);
    expect(labProblems({ ...READY, freeSubnet: undefined })).toEqual([expect.stringMatching(/^no free \/24 in the lab range 198.18.240.0\/20/)]);
  });

  it('needs debootstrap only without a cached image, zstd only without an extracted one', () => {
    expect(labProblems({ ...READY, image: 'extracted', commands: without('debootstrap', 'zstd') })).toEqual([]);
    expect(labProblems({ ...READY, image: 'tarball', commands: without('debootstrap', 'zstd') })).toEqual([
      expect.stringMatching(/^zstd not found .*apt-get install zstd$/),
    ]);
  });

  it('needs per-host cgroups only where PID 1 is not systemd, and reports no subnet problem when ip itself is missing', () => {
    expect(labProblems({ ...READY, pid1Systemd: true, cgroupHierarchies: new Set() })).toEqual([]);
    expect(labProblems({ ...READY, commands: without('ip'), networksRead: false, freeSubnet: undefined })).toEqual(['ip not found: apt-get install iproute2']);
  });
});
