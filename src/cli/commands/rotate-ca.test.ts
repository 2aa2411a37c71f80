import { describe, expect, it } from 'vitest';
import type { RotationState } from '../../pki/rotation.js';
import type { CertsReport } from '../../pki/generate.js';
import { formatCertsReport } from './certs.js';
import { formatRotationStatus } from './rotate-ca.js';

const state = (step: RotationState['step'], rolled: boolean): RotationState => ({
  cas: ['ca', 'etcd-ca'],
  serviceAccount: true,
  step,
  rolled,
  startedAt: '2026-12-01T12:00:00.000Z',
});

describe('certs rotate-ca --status', () => {
  it('says there is no rotation', () => {
    expect(formatRotationStatus(undefined, 'inv.yaml')).toBe('no CA rotation in progress\n');
  });

  it('names the CAs, the step, whether it is rolled out and what the next run does', () => {
    expect(formatRotationStatus(state(2, false), 'inv.yaml')).toBe(
      [
        'CA rotation of kubernetes, etcd and the service-account key, started 2026-12-01T12:00:00.000Z',
        'step 2 of 3 (re-issue every certificate with the new CAs): not yet rolled out',
        'next: `kubeinstall certs rotate-ca -i inv.yaml` rolls step 2 out, then goes on',
        '',
      ].join('\n'),
    );
    expect(formatRotationStatus(state(1, true), 'inv.yaml')).toContain('rolled out: every component trusts the old and the new CAs');
    expect(formatRotationStatus(state(1, true), 'inv.yaml')).toContain('writes step 2 and rolls it out, then goes on');
    expect(formatRotationStatus(state(3, true), 'inv.yaml')).toContain('removes the rotation state');
  });
});

describe("a rotation step's certs report", () => {
  it('says what the step did and groups the re-issued certificates by reason, by kind', () => {
    const report: CertsReport = {
      certs: [
        { id: 'ca', outcome: 'reissued', reason: 'rotated' },
        { id: 'apiserver', outcome: 'reissued', reason: 'CA ca was replaced' },
        { id: 'kubelet-client/n1', outcome: 'reissued', reason: 'CA ca was replaced' },
        { id: 'kubelet-client/n2', outcome: 'reissued', reason: 'CA ca was replaced' },
        { id: 'front-proxy-client', outcome: 'kept' },
      ],
      serviceAccount: 'reissued',
      written: ['pki/ca.crt'],
      warnings: [],
      rotation: { step: 2, cas: ['ca'], serviceAccount: true, startedAt: '2026-12-01T12:00:00.000Z' },
    };
    expect(formatCertsReport(report, '/c').split('\n')).toEqual([
      'rotating kubernetes: the new CAs sign; the old ones stay beside them, trusted until step 3, their keys deleted',
      'kept: front-proxy-client',
      're-issued ca: rotated',
      're-issued (CA ca was replaced): apiserver, kubelet-client (2)',
      'the new service-account key signs; the old public key stays in sa.pub until step 3',
      '0 created, 1 kept, 4 re-issued; 1 files written under /c',
      '',
    ]);
  });
});
