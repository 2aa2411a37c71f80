import { describe, expect, it } from 'vitest';
import { loadInventoryText } from '../inventory/load.js';
import { renderLabInventory } from './inventory.js';
import { labHosts } from './layout.js';

const network = { name: 'lab-abc123', subnet: '198.18.70.0/24' };

describe('lab inventory', () => {
  it('etcd-only: passes validation, strict host keys, the key and folders beside it, cluster ranges from 198.18.0.0/15', () => {
    const text = renderLabInventory({
      dir: '/srv/lab',
      bridge: 'kitb-lab-abc123',
      subnet: network.subnet,
      hosts: labHosts({ masters: 0, nodes: 0, etcd: 3 }, network),
      etcdVersion: '3.4.23',
    });
    const { model } = loadInventoryText(text, '/srv/lab/inventory.yaml');
    expect(model.hosts.map((h) => [h.name, h.address, h.roles])).toEqual([
      ['etcd-1', '198.18.70.11', ['etcd']],
      ['etcd-2', '198.18.70.12', ['etcd']],
      ['etcd-3', '198.18.70.13', ['etcd']],
    ]);
    expect(model.hosts[0]!.ssh).toMatchObject({ user: 'root', identityFile: '/srv/lab/id_ed25519', hostKeyPolicy: 'strict' });
    expect(model).toMatchObject({ binariesDir: '/srv/lab/binaries', clusterDir: '/srv/lab/cluster', etcdVersion: '3.4.23', installPackages: false });
    expect(text).toMatch(/^# The lab in \/srv\/lab/);
  });

  it('full: masters and nodes at the Kubernetes version read from the given binaries', () => {
    const text = renderLabInventory({
      dir: '/srv/lab',
      bridge: 'kitb-lab-abc123',
      subnet: network.subnet,
      hosts: labHosts({ masters: 3, nodes: 2, etcd: 0 }, network),
      etcdVersion: '3.4.23',
      kubernetesVersion: '1.33.5',
    });
    const { model } = loadInventoryText(text, '/srv/lab/inventory.yaml');
    expect(model.kubernetesVersion).toBe('1.33.5');
    expect(model.hosts.map((h) => h.name)).toEqual(['master-1', 'master-2', 'master-3', 'node-1', 'node-2']);
    // The largest lab: every host a kubelet host, each with its pod subnet.
    const big = renderLabInventory({
      dir: '/srv/lab',
      bridge: 'b',
      subnet: network.subnet,
      hosts: labHosts({ masters: 2, nodes: 30, etcd: 0 }, network),
      etcdVersion: '3.4.23',
    });
    expect(loadInventoryText(big, '/srv/lab/inventory.yaml').model.hosts).toHaveLength(32);
  });
});
