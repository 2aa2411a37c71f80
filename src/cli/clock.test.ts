import { describe, expect, it } from 'vitest';
import { UsageError } from '../util/errors.js';
import { parseClock, pkiNow } from './clock.js';

const real = new Date('2026-12-01T09:00:00Z');

describe('KUBEINSTALL_NOW', () => {
  it('takes an offset in days or an ISO time', () => {
    expect(parseClock('-350d', real).toISOString()).toBe('2025-12-16T09:00:00.000Z');
    expect(parseClock('+400d', real).toISOString()).toBe('2028-01-05T09:00:00.000Z');
    expect(parseClock('2030-01-02T03:04:05Z', real).toISOString()).toBe('2030-01-02T03:04:05.000Z');
  });

  it('refuses anything else as a usage error naming the variable', () => {
    for (const bad of ['tomorrow', '400d', '+4w', '2030-13-45']) expect(() => parseClock(bad, real), bad).toThrow(UsageError);
    expect(() => parseClock('soon')).toThrow(/^KUBEINSTALL_NOW=soon: expected an ISO 8601 time or an offset in days/);
  });

  it('is the real clock when unset', () => {
    const before = Date.now();
    expect(pkiNow({}).getTime()).toBeGreaterThanOrEqual(before);
  });
});
