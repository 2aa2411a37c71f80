import { describe, expect, it } from 'vitest';
import { formatExpiry, formatVerifyTable, shortHumanDuration } from './verify-report.js';

describe('shortHumanDuration', () => {
  it.each([
    [-5, '<invalid>'],
    [0, '0s'],
    [59, '59s'],
    [60, '1m'],
    [3599, '59m'],
    [3600, '1h'],
    [86_399, '23h'],
    [86_400, '1d'],
    [364 * 86_400 + 10, '364d'],
    [365 * 86_400, '1y'],
    [3649 * 86_400, '9y'],
  ])('%i s is %s', (seconds, text) => expect(shortHumanDuration(seconds)).toBe(text));
});

describe('formatVerifyTable', () => {
  it('prints leaves and CAs as two tables, then every problem', () => {
    const text = formatVerifyTable([
      {
        name: 'apiserver',
        kind: 'certificate',
        file: 'pki/apiserver.crt',
        ca: 'ca',
        expires: '2027-01-02T03:04:00.000Z',
        residualSeconds: 40 * 86_400,
        status: 'invalid',
        problems: ['DNS SANs differ: missing m3'],
      },
      {
        name: 'ca',
        kind: 'ca',
        file: 'pki/ca.crt',
        ca: 'ca',
        expires: '2035-12-12T03:33:00.000Z',
        residualSeconds: 3649 * 86_400,
        externallyManaged: true,
        status: 'ok',
        problems: [],
      },
    ]);
    expect(text).toBe(
      [
        'CERTIFICATE   EXPIRES                  RESIDUAL TIME   CERTIFICATE AUTHORITY   STATUS',
        'apiserver     Jan 02, 2027 03:04 UTC   40d             ca                      invalid',
        '',
        'CERTIFICATE AUTHORITY   EXPIRES                  RESIDUAL TIME   EXTERNALLY MANAGED   STATUS',
        'ca                      Dec 12, 2035 03:33 UTC   9y              yes                  ok',
        '',
        'problems:',
        '  apiserver: DNS SANs differ: missing m3',
        '',
      ].join('\n'),
    );
    expect(formatExpiry('2026-11-05T07:08:00Z')).toBe('Nov 05, 2026 07:08 UTC');
  });
});
