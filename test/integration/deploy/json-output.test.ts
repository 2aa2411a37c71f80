// `deploy -o json` as a pipeline reads it: stdout is one JSON document, for a success (a one-member etcd
// on a test-bed host, 198.18.25.60 with its own network) and for a failure (the loopback 127.0.8.69, where
// nothing listens); the task lines
// go to stderr.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeinstall } from '../kubeinstall.js';
import { startSetting, TESTBED_IGNORED_CHECKS, type Setting } from './fixtures.js';

describe('deploy -o json', () => {
  describe('a host nothing listens on', () => {
    const root = mkdtempSync(join(tmpdir(), 'kubeinstall-json-fail-'));
    afterAll(() => rmSync(root, { recursive: true, force: true }));

    it('fails in connect naming the host: exit 1, the failure as JSON on stdout, the message on stderr', () => {
      mkdirSync(join(root, 'binaries'));
      for (const b of ['etcd', 'etcdctl']) {
        writeFileSync(join(root, 'binaries', b), '#!/bin/sh\n');
        chmodSync(join(root, 'binaries', b), 0o755);
      }
      const inventory = join(root, 'inventory.yaml');
      writeFileSync(
        inventory,
        [
          'cluster: { name: nobody, keyAlgorithm: ecdsa-p256 }',
          'ssh: { hostKeyPolicy: accept-new, connectTimeoutSeconds: 2, useAgent: false, passwordEnv: KI_JSON_PASSWORD }',
          'hosts:',
          '  - { name: gone, address: 127.0.8.69, roles: [etcd] }',
          '',
        ].join('\n'),
      );
      expect(kubeinstall(['certs', '-i', inventory]).code).toBe(0);

      const r = kubeinstall(['deploy', '-i', inventory, '-o', 'json'], { KI_JSON_PASSWORD: 'never sent' });
      expect(r.code, r.err).toBe(1);
      const report = JSON.parse(r.out);
      expect(report).toMatchObject({
        status: 'failed',
        exitCode: 1,
        phase: 'connect',
        failures: [{ host: 'gone', step: expect.any(String), message: expect.stringContaining('127.0.8.69') }],
      });
      expect(r.err).toContain('[connect] gone:'); // the task lines, on stderr
      expect(r.err).toMatch(/error: connect failed on 1 host\(s\):\n\s+gone: /);
    });
  });

  describe('a one-member etcd on the test bed', () => {
    let s: Setting;
    beforeAll(async () => {
      s = await startSetting({ name: 'json', subnet: '198.18.25.0/24' }, [{ name: 'etcd-1', address: '198.18.25.60', roles: ['etcd'] }]);
    });
    afterAll(async () => {
      await s?.stop();
    });

    it('succeeds with the result per host as the only thing on stdout, then a re-run changes nothing', () => {
      const deploy = () => kubeinstall(['deploy', '-i', s.inventory, '-o', 'json', '--ignore-preflight-errors', [...TESTBED_IGNORED_CHECKS].join(',')]);
      const first = deploy();
      expect(first.code, first.err).toBe(0);
      const report = JSON.parse(first.out);
      expect(report).toMatchObject({
        status: 'ok',
        dryRun: false,
        servicesRestarted: 1,
        hosts: [{ name: 'etcd-1', restarted: ['etcd.service'], running: ['etcd.service'], notes: [] }],
      });
      expect(report.hosts[0].uploaded).toBeGreaterThan(0);
      expect(report.filesUploaded).toBe(report.hosts[0].uploaded);
      expect(Object.keys(report.phaseDurationsMs)).toEqual(expect.arrayContaining(['connect', 'facts', 'upload', 'etcd']));
      expect(report.hosts[0].durationsMs.etcd).toBeGreaterThan(0);
      expect(report.durationMs).toBeGreaterThanOrEqual(report.phaseDurationsMs.etcd);
      expect(report.commandLog).toMatch(/\.log$/);
      expect(first.err).toMatch(/\[etcd\] etcd-1: start etcd: started etcd \(new cluster\)/); // the task lines, on stderr

      const again = JSON.parse(deploy().out);
      expect(again).toMatchObject({ status: 'ok', filesUploaded: 0, servicesRestarted: 0, hosts: [{ name: 'etcd-1', uploaded: 0, restarted: [] }] });
    });
  });
});
