import { describe, expect, it } from 'vitest';
import { elfArchitecture, parseSha256Sums, parseVersion, readBinaryVersion, readElfArchitecture } from './binaries.js';

describe('binaries', () => {
  it('reads the architecture of a real ELF binary and ignores scripts', async () => {
    const machine = { x64: 'x86_64', arm64: 'aarch64' }[process.arch as 'x64' | 'arm64'];
    expect(await readElfArchitecture(process.execPath)).toBe(machine);
    expect(elfArchitecture(Buffer.from('#!/usr/bin/env python3\nprint(1)\n'))).toBeUndefined();
  });

  it('parses SHA256SUMS in text and binary mode, by base name', () => {
    const a = 'a'.repeat(64);
    const b = 'B'.repeat(64);
    expect(parseSha256Sums(`${a}  etcd\n${b} *bin/kubelet\nnot a line\n`)).toEqual(
      new Map([
        ['etcd', a],
        ['kubelet', 'b'.repeat(64)],
      ]),
    );
  });

  it('reads the version a binary prints, as etcd, containerd 1 (Debian) and 2 print it', async () => {
    expect(parseVersion('etcd Version: 3.4.23\nGit SHA: Not provided\nGo Version: go1.19.8\n')).toBe('3.4.23');
    expect(parseVersion('containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+deb12u3\n')).toBe('1.6.20');
    expect(parseVersion('containerd github.com/containerd/containerd/v2 v2.1.4 75cb2b7193e4e490e9fbdc236c0e811ccaba3376\n')).toBe('2.1.4');
    expect(await readBinaryVersion(process.execPath)).toBe(process.versions.node);
  });
});
