import { describe, expect, it } from 'vitest';
import { UsageError } from '../../util/errors.js';
import { parseIgnored, parsePhases } from './deploy.js';

describe('deploy options', () => {
  it('always runs connect and facts with a --phases selection', () => {
    expect([...parsePhases('etcd, nodes')]).toEqual(['connect', 'facts', 'etcd', 'nodes']);
    expect(parsePhases(undefined).size).toBe(9);
  });

  it('names unknown phases and checks with a suggestion', () => {
    expect(() => parsePhases('etdc')).toThrow(UsageError);
    expect(() => parsePhases('etdc')).toThrow(/unknown phase "etdc" \(did you mean "etcd"\?\)/);
    expect(() => parseIgnored('port')).toThrow(/unknown check "port" \(did you mean "ports"\?\)/);
    expect([...parseIgnored('Ports,clock-skew')]).toEqual(['ports', 'clock-skew']);
    expect([...parseIgnored('all')]).toEqual(['all']);
  });
});
