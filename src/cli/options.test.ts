import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { duration, wholeNumber } from './options.js';

describe('option values', () => {
  it('reads whole numbers from the minimum up', () => {
    expect(wholeNumber(1)('10')).toBe(10);
    expect(wholeNumber()('0')).toBe(0);
    for (const bad of ['0', 'abc', '1.5', '-1', '', '1e3', '99999999999999999999']) expect(() => wholeNumber(1)(bad)).toThrow(InvalidArgumentError);
  });

  it('reads durations in seconds or with a unit, as milliseconds', () => {
    expect([duration('120'), duration('90s'), duration('2m'), duration('1h')]).toEqual([120_000, 90_000, 120_000, 3_600_000]);
    for (const bad of ['0', '0s', 'abc', '1.5', '2d', '-1', '']) expect(() => duration(bad)).toThrow(InvalidArgumentError);
  });
});
