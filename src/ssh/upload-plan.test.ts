import { describe, expect, it } from 'vitest';
import type { UploadItem } from './types.js';
import { besideTarget, installCommand, parseRemoteState, planUploads, prepareCommand, remoteStateCommand, stagedPaths, validateItems } from './upload-plan.js';

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
  it('reads the one-command remote state, including paths with spaces', () => {
    const out = `644 root:root /etc/a.conf\n750 etcd:etcd /var/lib/my dir/b\n\n${H('a')}  /etc/a.conf\n${H('b')}  /var/lib/my dir/b\n`;
    const state = parseRemoteState(out);
    expect(state.get('/etc/a.conf')).toEqual({ mode: 0o644, owner: 'root:root', sha256: H('a') });
    expect(state.get('/var/lib/my dir/b')).toEqual({ mode: 0o750, owner: 'etcd:etcd', sha256: H('b') });
    expect(parseRemoteState('\n').size).toBe(0); // nothing exists yet
    expect(remoteStateCommand(['/etc/a.conf', '/var/lib/my dir/b'])).toBe(
      "stat -c '%a %U:%G %n' -- /etc/a.conf '/var/lib/my dir/b' 2>/dev/null; echo; sha256sum -- /etc/a.conf '/var/lib/my dir/b' 2>/dev/null; true",
    );
  });

  it('sends changed or missing files, fixes metadata in place, skips matches', () => {
    const state = parseRemoteState(`644 root:root /a\n600 root:root /b\n644 root:root /c\n\n${H('a')}  /a\n${H('b')}  /b\n${H('c')}  /c\n`);
    const plan = planUploads([item('/a', H('a')), item('/b', H('b'), 0o640), item('/c', H('x')), item('/d', H('d'))], state);
    expect(plan.skip.map((i) => i.path)).toEqual(['/a']);
    expect(plan.fix.map((i) => i.path)).toEqual(['/b']);
    expect(plan.send.map((i) => i.path)).toEqual(['/c', '/d']);
  });

  it('stages beside the target for an atomic rename, or in the login home mirroring target folders', () => {
    const a = item('/usr/local/bin/etcd', H('a'), 0o755);
    const b = item('/usr/local/bin/etcdctl', H('b'), 0o755);
    const c = item('/etc/etcd/etcd.conf', H('c'));
    expect(besideTarget(a.path)).toBe('/usr/local/bin/.etcd.kubeinstall-upload');
    expect(stagedPaths('beside-target', [a, c])).toEqual(['/usr/local/bin/.etcd.kubeinstall-upload', '/etc/etcd/.etcd.conf.kubeinstall-upload']);
    expect(stagedPaths('home', [a, c, b])).toEqual([
      '.kubeinstall-upload/0/.etcd.kubeinstall-upload',
      '.kubeinstall-upload/1/.etcd.conf.kubeinstall-upload',
      '.kubeinstall-upload/0/.etcdctl.kubeinstall-upload',
    ]);
    expect(prepareCommand('beside-target', [a, b])).toBe('mkdir -p -- /usr/local/bin');
    expect(prepareCommand('home', [a, c])).toBe('rm -rf .kubeinstall-upload && mkdir -m 700 .kubeinstall-upload && mkdir -- .kubeinstall-upload/0 .kubeinstall-upload/1');
  });

  it('checks every staged file in one sha256sum and sets owner and mode once per distinct value', () => {
    const a = item('/usr/local/bin/etcd', H('a'), 0o755);
    const b = item('/usr/local/bin/etcdctl', H('b'), 0o755);
    const f = item('/etc/x.conf', H('c'), 0o600, 'etcd:etcd');
    const direct = installCommand('beside-target', { send: [a, b], fix: [f], skip: [] });
    expect(direct.split('\n')).toEqual([
      'set -e',
      "sha256sum -c --quiet <<'KUBEINSTALL_SUMS'",
      `${H('a')}  /usr/local/bin/.etcd.kubeinstall-upload`,
      `${H('b')}  /usr/local/bin/.etcdctl.kubeinstall-upload`,
      'KUBEINSTALL_SUMS',
      'chown root:root -- /usr/local/bin/.etcd.kubeinstall-upload /usr/local/bin/.etcdctl.kubeinstall-upload',
      'chmod 0755 -- /usr/local/bin/.etcd.kubeinstall-upload /usr/local/bin/.etcdctl.kubeinstall-upload',
      'chown etcd:etcd -- /etc/x.conf',
      'chmod 0600 -- /etc/x.conf',
    ]);
    // home staging: copied across per folder, renamed here, staging removed
    const viaHome = installCommand('home', { send: [a], fix: [], skip: [] }, '/home/ops').split('\n');
    expect(viaHome.slice(1, 3)).toEqual(['mkdir -p -- /usr/local/bin', 'cp -rT -- /home/ops/.kubeinstall-upload/0 /usr/local/bin']);
    expect(viaHome.slice(-2)).toEqual(['mv -f -- /usr/local/bin/.etcd.kubeinstall-upload /usr/local/bin/etcd', 'rm -rf -- /home/ops/.kubeinstall-upload']);
    // nothing sent: only the metadata fixes
    expect(installCommand('home', { send: [], fix: [f], skip: [] }, '/home/ops')).toBe('set -e\nchown etcd:etcd -- /etc/x.conf\nchmod 0600 -- /etc/x.conf');
  });

  it('refuses relative, duplicate or oddly owned targets, naming the host', () => {
    expect(() => validateItems('n1', [item('etc/a', H('a'))])).toThrow('n1: upload target "etc/a" is not absolute');
    expect(() => validateItems('n1', [item('/a', H('a')), item('/a', H('a'))])).toThrow('appears twice');
    expect(() => validateItems('n1', [item('/a', H('a'), 0o644, 'root')])).toThrow('expected user:group');
  });
});
