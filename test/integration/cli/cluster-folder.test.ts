// What the commands that change the cluster folder do when it cannot be used: a deploy log that cannot
// be written, and a folder another run holds. Every case fails before any host is contacted, so the
// inventory's hosts (127.0.8.x) need not exist.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_BINARIES } from '../../../src/render/test-fixtures.js';
import { kubeinstall } from '../kubeinstall.js';

const root = mkdtempSync(join(tmpdir(), 'kubeinstall-cluster-folder-'));
const inventory = join(root, 'inventory.yaml');
const clusterDir = join(root, 'folder'); // the default: named after the cluster, next to the inventory
afterAll(() => rmSync(root, { recursive: true, force: true }));

beforeAll(() => {
  mkdirSync(join(root, 'binaries'));
  for (const b of ALL_BINARIES) {
    writeFileSync(join(root, 'binaries', b), `#!/bin/sh\n# stand-in ${b}\n`);
    chmodSync(join(root, 'binaries', b), 0o755);
  }
  writeFileSync(
    inventory,
    [
      'cluster: { name: folder, keyAlgorithm: ecdsa-p256 }',
      'ssh: { user: root, hostKeyPolicy: accept-new, connectTimeoutSeconds: 1 }',
      'hosts:',
      '  - { name: m1, address: 127.0.8.1, roles: [etcd, master, node] }',
      '',
    ].join('\n'),
  );
  const certs = kubeinstall(['certs', '-i', inventory]);
  expect(certs.code, certs.err).toBe(0);
});

describe('the deploy log', () => {
  it('that cannot be written stops deploy before it connects, naming the file, in one line', () => {
    const logs = join(clusterDir, 'logs');
    rmSync(logs, { recursive: true, force: true });
    writeFileSync(logs, 'not a folder\n');
    try {
      const r = kubeinstall(['deploy', '-i', inventory]);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(new RegExp(`^error: cannot write the deploy log ${logs}/deploy-[0-9T-]+Z\\.log: ${logs} is not a folder\\n$`));
    } finally {
      rmSync(logs, { force: true });
    }
  });

  it('in a read-only logs folder stops deploy the same way (chattr +i: even root cannot add a file)', () => {
    const logs = join(clusterDir, 'logs');
    mkdirSync(logs, { recursive: true });
    execFileSync('chattr', ['+i', logs]);
    try {
      const r = kubeinstall(['deploy', '-i', inventory]);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(new RegExp(`^error: cannot write the deploy log ${logs}/deploy-[0-9T-]+Z\\.log: EPERM \\(operation not permitted\\)\\n$`));
    } finally {
      execFileSync('chattr', ['-i', logs]);
    }
  });
});
