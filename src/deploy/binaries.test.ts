import { describe, expect, it } from 'vitest';
import { elfArchitecture, parseSha256Sums, readElfArchitecture } from './binaries.js';

describe('binaries', () => {
  it('reads the architecture of a real ELF binary and ignores scripts', async () => {
    const machine = { x64: 'x86_64', arm64: 'aarch64' }[process.arch as 'x64' | 'arm64'];
    expect(await readElfArchitecture(process.execPath)).toBe(machine);
    expect(elfArchitecture(Buffer.from('#!/usr/bin/env python3\nprint(1)\n'))).toBeUndefined();
  });

  it('parses SHA256SUMS in text and binary mode, by base name', () => {
    const a = 'a'.repeat(64);
    const b = 'B'.repeat(64);
    expect(parseSha256Sums(`${a}  etcd\n${b} *bin/kubelet\nnot a line\n`)).toEqual(new Map([['etcd', a], ['kubelet', 'b'.repeat(64)]]));
  });
});
