import { describe, expect, it } from 'vitest';
import { asidePath, parseMarker, restoreCommand } from './restore-host.js';

describe('the restore marker', () => {
  it('reads the state file and the staged copy, and nothing from an empty marker', () => {
    const sha = 'a'.repeat(64);
    expect(parseMarker(`sha256=${sha}\naside=/var/lib/etcd.before-restore-20261201T061502Z\nstaged=${sha}\n`)).toEqual({
      sha256: sha,
      aside: '/var/lib/etcd.before-restore-20261201T061502Z',
      stagedSha256: sha,
    });
    expect(parseMarker('staged=\n')).toEqual({});
  });

  it('puts the old data dir beside the data dir, named by the time', () => {
    expect(asidePath(new Date('2026-12-01T06:15:02.5Z'))).toBe('/var/lib/etcd.before-restore-20261201T061502Z');
  });
});

describe('restoreCommand', () => {
  const cmd = restoreCommand({
    name: 'm1',
    initialCluster: 'm1=https://198.18.1.1:2380',
    token: 'prod-etcd',
    peerUrl: 'https://198.18.1.1:2380',
    aside: '/var/lib/etcd.before-restore-20261201T061502Z',
  });

  it('skips a member already restored, moves the data dir aside only once, and renames the restored dir into place last', () => {
    const lines = cmd.split('\n');
    const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
    expect(at(/restored \]; then echo "already restored"; exit 0/)).toBe(1);
    expect(lines[at(/^if \[ ! -e \/var\/lib\/etcd\.before-restore/)]).toContain('mv /var/lib/etcd /var/lib/etcd.before-restore-20261201T061502Z');
    expect(at(/snapshot restore/)).toBeLessThan(at(/^mv \/var\/lib\/etcd\.restoring \/var\/lib\/etcd$/));
    expect(at(/^mv \/var\/lib\/etcd\.restoring/)).toBeLessThan(at(/^touch .*\/restored$/));
    expect(cmd).toContain('--initial-cluster-token=prod-etcd');
  });
});
