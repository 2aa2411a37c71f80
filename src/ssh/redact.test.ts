import { describe, expect, it } from 'vitest';
import { createRedactor } from './redact.js';

describe('redact', () => {
  it('masks registered secrets wherever they appear, the longest first', () => {
    const r = createRedactor(['hunter2']);
    r.add('hunter2-extended');
    expect(r.redact('echo hunter2-extended | sudo -S; pw=hunter2')).toBe('echo *** | sudo -S; pw=***');
  });

  it('treats secrets as text, not patterns', () => {
    const r = createRedactor(['a.b*c']);
    expect(r.redact('a.b*c axbbc')).toBe('*** axbbc');
  });

  it('masks private key blocks, bearer tokens and password-like assignments', () => {
    const r = createRedactor();
    const pem = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\n-----END OPENSSH PRIVATE KEY-----';
    expect(r.redact(`key: ${pem} done`)).toBe('key: -----BEGIN OPENSSH PRIVATE KEY----- *** done');
    expect(r.redact('curl -H "Authorization: Bearer abc.def-ghi"')).toBe('curl -H "Authorization: Bearer ***"');
    expect(r.redact('etcd --password=s3cret --token abc x')).toBe('etcd --password=*** --token *** x');
    expect(r.redact('PASSWORD: "two words" next')).toBe('PASSWORD: *** next');
  });

  it('ignores empty secrets, which would mask everything', () => {
    const r = createRedactor(['', undefined]);
    expect(r.redact('plain text')).toBe('plain text');
  });
});
