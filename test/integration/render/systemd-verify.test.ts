// Every rendered unit passes `systemd-analyze verify` against a root holding the real systemd unit
// library and real executables at the paths the units reference. PID 1 need not be systemd: --root
// makes the check offline. verify exits 0 on warnings (an unknown key, a bad value), so any output fails.
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLE_BINARIES } from '../../../src/render/binaries.js';
import { indexBinaries } from '../../../src/render/load.js';
import { buildClusterPlan } from '../../../src/render/plan.js';
import { clusterFilesFor, modelFrom } from '../../../src/render/test-fixtures.js';
import type { HostPlan } from '../../../src/render/types.js';
import { writePlanTree } from '../../../src/render/write.js';
import { HAPROXY_BINARY } from '../../../src/render/lb.js';
import { UNITS } from '../../../src/render/units.js';

const work = mkdtempSync(join(tmpdir(), 'kubeinstall-render-verify-'));
const root = join(work, 'tree', 'hosts', 'a1');
let host: HostPlan;

const verify = (unitPath: string) => {
  const r = spawnSync('systemd-analyze', ['verify', `--root=${root}`, unitPath], { encoding: 'utf8' });
  if (r.error) throw new Error(`systemd-analyze is not runnable here: ${r.error.message}`);
  return { code: r.status, output: (r.stdout + r.stderr).trim() };
};

beforeAll(async () => {
  const binaries = join(work, 'binaries');
  mkdirSync(binaries);
  for (const b of Object.values(ROLE_BINARIES).flat()) copyFileSync('/bin/true', join(binaries, b.name));
  const model = modelFrom('  - { name: a1, address: 127.0.4.51, roles: [etcd, master, node] }\n');
  const plan = buildClusterPlan(model, clusterFilesFor(model), await indexBinaries(binaries, model.hosts));
  host = plan.hosts[0]!;
  await writePlanTree(plan, join(work, 'tree'));
  // The tree links binaries to the local folder; under --root a link resolves inside the root, so copy them in.
  for (const f of host.files.filter((x) => x.content.kind === 'local')) {
    rmSync(join(root, f.path));
    copyFileSync('/bin/true', join(root, f.path));
  }
  cpSync('/usr/lib/systemd/system', join(root, 'usr/lib/systemd/system'), { recursive: true });
  mkdirSync(join(root, 'sbin'), { recursive: true });
  copyFileSync('/bin/true', join(root, 'sbin/modprobe'));
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('systemd-analyze verify', () => {
  it('accepts every rendered unit without a warning', () => {
    const units = host.files.map((f) => f.path).filter((p) => p.endsWith('.service'));
    expect(units).toHaveLength(8);
    for (const unit of units) expect(verify(unit), unit).toEqual({ code: 0, output: '' });
  });

  it("accepts kube-lb.service, a node-local node's HAProxy unit (the OS package's binary)", async () => {
    const model = modelFrom(
      [
        '  - { name: a1, address: 127.0.4.51, roles: [etcd, master] }',
        '  - { name: a2, address: 127.0.4.52, roles: [master] }',
        '  - { name: n1, address: 127.0.4.53, roles: [node] }',
        '',
      ].join('\n'),
    );
    const plan = buildClusterPlan(model, clusterFilesFor(model), await indexBinaries(join(work, 'binaries'), model.hosts));
    const node = plan.hosts.find((h) => h.host.name === 'n1')!;
    const unit = node.files.find((f) => f.path === `/etc/systemd/system/${UNITS.kubeLb}`)!;
    writeFileSync(join(root, unit.path), (unit.content as { data: Buffer }).data);
    mkdirSync(join(root, 'usr/sbin'), { recursive: true });
    copyFileSync('/bin/true', join(root, HAPROXY_BINARY));
    expect(verify(unit.path)).toEqual({ code: 0, output: '' });
  });

  it('reports a unit with a misspelt key or a missing binary (the check can fail)', () => {
    writeFileSync(join(root, 'etc/systemd/system/typo.service'), '[Service]\nExecStart=/usr/local/bin/etcd\nRestrt=always\n');
    expect(verify('/etc/systemd/system/typo.service').output).toMatch(/Unknown key/);
    writeFileSync(join(root, 'etc/systemd/system/nobinary.service'), '[Service]\nExecStart=/usr/local/bin/no-such-binary\n');
    expect(verify('/etc/systemd/system/nobinary.service').code).not.toBe(0);
  });
});
