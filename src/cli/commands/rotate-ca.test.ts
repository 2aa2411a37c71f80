import { describe, expect, it } from 'vitest';
import type { RotationState } from '../../pki/rotation.js';
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
