import { describe, expect, it } from 'vitest';
import { maskSecrets, MASK } from './mask.js';
import { inventorySchema, secretFieldNames } from './schema.js';

describe('maskSecrets', () => {
  it('takes the secret fields from the schema', () => {
    expect([...secretFieldNames(inventorySchema)]).toEqual(['password']);
  });

  it('masks a secret field at any depth and leaves the rest', () => {
    const model = { name: 'c', hosts: [{ ssh: { user: 'ops', password: 'hunter2', passwordEnv: 'PW', bastion: { address: 'b', password: 'pw2' } } }] };
    expect(maskSecrets(model)).toEqual({
      name: 'c',
      hosts: [{ ssh: { user: 'ops', password: MASK, passwordEnv: 'PW', bastion: { address: 'b', password: MASK } } }],
    });
    expect(model.hosts[0]!.ssh.password).toBe('hunter2');
  });
});
