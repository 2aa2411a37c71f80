import { describe, expect, it } from 'vitest';
import type { UploadItem } from './types.js';
import { besideTarget, installCommand, parseRemoteState, planUploads, prepareCommand, remoteStateCommand, stagedPath, validateItems } from './upload-plan.js';

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
    const out = `644 root:root ${H('a')}  /etc/a.conf\n750 etcd:etcd ${H('b')}  /var/lib/my dir/b\nstat: cannot stat\n`;
    const state = parseRemoteState(out);
    expect(state.get('/etc/a.conf')).toEqual({ mode: 0o644, owner: 'root:root', sha256: H('a') });
    expect(state.get('/var/lib/my dir/b')).toEqual({ mode: 0o750, owner: 'etcd:etcd', sha256: H('b') });
    expect(remoteStateCommand(['/etc/a.conf', '/var/lib/my dir/b'])).toContain(`for p in /etc/a.conf '/var/lib/my dir/b'; do`);
  });

  it('sends changed or missing files, fixes metadata in place, skips matches', () => {
    const state = parseRemoteState(`644 root:root ${H('a')}  /a\n600 root:root ${H('b')}  /b\n644 root:root ${H('c')}  /c\n`);
    const plan = planUploads([item('/a', H('a')), item('/b', H('b'), 0o640), item('/c', H('x')), item('/d', H('d'))], state);
    expect(plan.skip.map((i) => i.path)).toEqual(['/a']);
    expect(plan.fix.map((i) => i.path)).toEqual(['/b']);
    expect(plan.send.map((i) => i.path)).toEqual(['/c', '/d']);
  });

  it('stages beside the target for an atomic rename, or in the login home for sudo users', () => {
    const a = item('/usr/local/bin/etcd', H('a'), 0o755);
    expect(besideTarget(a.path)).toBe('/usr/local/bin/.etcd.kubeinstall-upload');
    expect(stagedPath('beside-target', a, 0)).toBe('/usr/local/bin/.etcd.kubeinstall-upload');
    expect(stagedPath('home', a, 3)).toBe('.kubeinstall-upload/3-etcd');
    expect(prepareCommand('beside-target', [a, item('/usr/local/bin/etcdctl', H('b'))])).toBe('mkdir -p -- /usr/local/bin');
  });

  it('verifies each staged file before moving it into place, with mode and owner', () => {
    const a = item('/usr/local/bin/etcd', H('a'), 0o755);
    const f = item('/etc/x.conf', H('b'), 0o600, 'etcd:etcd');
    const direct = installCommand('beside-target', { send: [a], fix: [f], skip: [] }, ['/usr/local/bin/.etcd.kubeinstall-upload']);
    expect(direct.split('\n')).toEqual([
      'set -e',
      `echo ${H('a')}'  '/usr/local/bin/.etcd.kubeinstall-upload | sha256sum -c --quiet -`,
      'chown root:root /usr/local/bin/.etcd.kubeinstall-upload && chmod 0755 /usr/local/bin/.etcd.kubeinstall-upload && mv -f -- /usr/local/bin/.etcd.kubeinstall-upload /usr/local/bin/etcd',
      'chown etcd:etcd /etc/x.conf && chmod 0600 /etc/x.conf',
    ]);
    const viaHome = installCommand('home', { send: [a], fix: [], skip: [] }, ['.kubeinstall-upload/0-etcd'], '/home/ops');
    expect(viaHome).toContain('cp -- /home/ops/.kubeinstall-upload/0-etcd /usr/local/bin/.etcd.kubeinstall-upload');
    expect(viaHome.split('\n').at(-1)).toBe('rm -rf -- /home/ops/.kubeinstall-upload');
    // nothing sent: only the metadata fixes, no staging folder to create or remove
    expect(installCommand('home', { send: [], fix: [f], skip: [] }, [], '/home/ops')).toBe('set -e\nchown etcd:etcd /etc/x.conf && chmod 0600 /etc/x.conf');
  });

  it('refuses relative, duplicate or oddly owned targets, naming the host', () => {
    expect(() => validateItems('n1', [item('etc/a', H('a'))])).toThrow('n1: upload target "etc/a" is not absolute');
    expect(() => validateItems('n1', [item('/a', H('a')), item('/a', H('a'))])).toThrow('appears twice');
    expect(() => validateItems('n1', [item('/a', H('a'), 0o644, 'root')])).toThrow('expected user:group');
  });
});
