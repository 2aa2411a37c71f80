import { describe, expect, it } from 'vitest';
import type { UploadItem } from './types.js';
import {
  besideTarget,
  freeSpaceCommand,
  installCommand,
  parseFreeSpace,
  parseStagingDir,
  prepareCommand,
  removeStagingCommand,
  removeTempFilesCommand,
  stagedPaths,
  validateItems,
} from './upload-plan.js';

const H = (c: string): string => c.repeat(64);
const item = (path: string, sha: string, mode = 0o644, owner = 'root:root'): UploadItem => ({
  path,
  mode,
  owner,
  sha256: sha,
  size: 10,
  source: { kind: 'inline', data: Buffer.from('x') },
});

describe('upload plan', () => {
  it('stages beside the target for an atomic rename, or in the login home mirroring target folders', () => {
    const a = item('/usr/local/bin/etcd', H('a'), 0o755);
    const b = item('/usr/local/bin/etcdctl', H('b'), 0o755);
    const c = item('/etc/etcd/etcd.conf', H('c'));
    expect(besideTarget(a.path)).toBe('/usr/local/bin/.etcd.kubeinstall-upload');
    expect(stagedPaths('beside-target', [a, c])).toEqual(['/usr/local/bin/.etcd.kubeinstall-upload', '/etc/etcd/.etcd.conf.kubeinstall-upload']);
    expect(stagedPaths('home', [a, c, b], '/home/ops/.kubeinstall-upload.AbC123')).toEqual([
      '/home/ops/.kubeinstall-upload.AbC123/0/.etcd.kubeinstall-upload',
      '/home/ops/.kubeinstall-upload.AbC123/1/.etcd.conf.kubeinstall-upload',
      '/home/ops/.kubeinstall-upload.AbC123/0/.etcdctl.kubeinstall-upload',
    ]);
    expect(prepareCommand('beside-target', [a, b])).toBe('mkdir -p -- /usr/local/bin');
    // a fresh folder per upload, never a fixed name another upload could remove
    expect(prepareCommand('home', [a, c])).toBe(
      `dir=$(mktemp -d "$HOME"/.kubeinstall-upload.XXXXXXXXXX) && mkdir -- "$dir"/0 "$dir"/1 && printf '%s\\n' "$dir"`,
    );
    expect(parseStagingDir('n1', '/home/ops/.kubeinstall-upload.AbC123\n')).toBe('/home/ops/.kubeinstall-upload.AbC123');
    expect(() => parseStagingDir('n1', 'mktemp: failed\n')).toThrow('n1: unexpected staging folder from mktemp');
  });

  it('cleans up after a failure and reads the free space of a file system', () => {
    const a = item('/usr/local/bin/etcd', H('a'), 0o755);
    expect(removeTempFilesCommand([a])).toBe('rm -f -- /usr/local/bin/.etcd.kubeinstall-upload');
    expect(removeStagingCommand('/home/o p/.kubeinstall-upload.x')).toBe("rm -rf -- '/home/o p/.kubeinstall-upload.x'");
    expect(freeSpaceCommand('/mnt/small')).toBe("stat -f -c '%a %S' -- /mnt/small");
    expect(parseFreeSpace('3 4096\n')).toBe(12288);
    expect(parseFreeSpace('stat: cannot read')).toBeUndefined();
  });

  it('checks home-staged files in one sha256sum after the copy, and sets owner and mode once per distinct value', () => {
    const a = item('/usr/local/bin/etcd', H('a'), 0o755);
    const b = item('/usr/local/bin/etcdctl', H('b'), 0o755);
    const f = item('/etc/x.conf', H('c'), 0o600, 'etcd:etcd');
    // root's files were hashed as they were sent: no second read on the host
    const direct = installCommand('beside-target', [a, b, f]);
    expect(direct.split('\n')).toEqual([
      'set -e',
      'chown root:root -- /usr/local/bin/.etcd.kubeinstall-upload /usr/local/bin/.etcdctl.kubeinstall-upload',
      'chown etcd:etcd -- /etc/.x.conf.kubeinstall-upload',
      'chmod 0755 -- /usr/local/bin/.etcd.kubeinstall-upload /usr/local/bin/.etcdctl.kubeinstall-upload',
      'chmod 0600 -- /etc/.x.conf.kubeinstall-upload',
    ]);
    // home staging: the planned files (and nothing else) copied across by name per folder, the root-owned
    // copies checked against their hashes, renamed here, staging removed
    const dir = '/home/ops/.kubeinstall-upload.AbC123';
    const viaHome = installCommand('home', [a, f, b], dir).split('\n');
    expect(viaHome.slice(1, 9)).toEqual([
      'mkdir -p -- /usr/local/bin /etc',
      `cp -- ${dir}/0/.etcd.kubeinstall-upload ${dir}/0/.etcdctl.kubeinstall-upload /usr/local/bin/`,
      `cp -- ${dir}/1/.x.conf.kubeinstall-upload /etc/`,
      "sha256sum -c --quiet <<'KUBEINSTALL_SUMS'",
      `${H('a')}  /usr/local/bin/.etcd.kubeinstall-upload`,
      `${H('c')}  /etc/.x.conf.kubeinstall-upload`,
      `${H('b')}  /usr/local/bin/.etcdctl.kubeinstall-upload`,
      'KUBEINSTALL_SUMS',
    ]);
    expect(viaHome.slice(-2)).toEqual(['mv -f -- /usr/local/bin/.etcdctl.kubeinstall-upload /usr/local/bin/etcdctl', `rm -rf -- ${dir}`]);
  });

  it('refuses relative, duplicate or oddly owned targets, naming the host', () => {
    expect(() => validateItems('n1', [item('etc/a', H('a'))])).toThrow('n1: upload target "etc/a" is not absolute');
    expect(() => validateItems('n1', [item('/a', H('a')), item('/a', H('a'))])).toThrow('appears twice');
    expect(() => validateItems('n1', [item('/a', H('a'), 0o644, 'root')])).toThrow('expected user:group');
  });
});
