import { describe, expect, it } from 'vitest';
import { modelFrom } from '../render/test-fixtures.js';
import { formatSummary } from './summary.js';

describe('the etcd-only summary', () => {
  it('brackets IPv6 member addresses in the etcdctl endpoints it prints', () => {
    const model = modelFrom('  - { name: e1, address: "fd00:0:0:1::1", roles: [etcd] }\n  - { name: e2, address: 127.0.2.2, roles: [etcd] }\n');
    const text = formatSummary({ filesUploaded: 0, servicesRestarted: 0, hosts: [] }, model, false, '/tmp/log');
    expect(text).toContain('etcdctl --endpoints=https://[fd00:0:0:1::1]:2379,https://127.0.2.2:2379 ');
  });
});
