import { readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadInventoryText } from '../inventory/load.js';
import { generatePki, type CertsReport } from './generate.js';
import { fileChecker, ISSUED_RECORD, readRecord, recordedReuse, sha256 } from './record.js';
import { expandPki } from './specs.js';

const inventory = (m1 = '127.0.3.1'): string => `
cluster:
  name: t
  keyAlgorithm: ecdsa-p256
hosts:
  - { name: m1, address: ${m1}, roles: [etcd, master] }
  - { name: n1, address: 127.0.3.11, roles: [node] }
  - { name: n2, address: 127.0.3.12, roles: [node] }
`;
const model = (text = inventory()) => loadInventoryText(text, '/x/inventory.yaml').model;
const changed = (r: CertsReport): string[] =>
  r.certs
    .filter((c) => c.outcome !== 'kept')
    .map((c) => `${c.id} ${c.outcome}${c.reason ? `: ${c.reason}` : ''}`)
    .sort();

/** What the record vouches for in the folder as it is now, judged as `certs` would (no renewal due). */
const trustedNow = (dir: string, now = new Date()) => {
  const m = model();
  const plan = expandPki(m);
  const record = readRecord(dir);
  const caSha = new Map(plan.certs.filter((c) => c.spec.ca === 'self').map((c) => [c.ca, sha256(readFileSync(join(dir, c.files!.crt)))]));
  return recordedReuse({ plan, algorithm: m.keyAlgorithm, record, checker: fileChecker(dir, record), caSha, now, renewalDue: () => false });
};

const SERVER = 'pki/kubelets/n1/kubelet-server.crt';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kubeinstall-record-'));
  await generatePki(model(), dir);
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

describe('the record of issued files', () => {
  it('vouches for every leaf and kubeconfig after a run, and a re-run then keeps all and writes nothing', async () => {
    const all = expandPki(model());
    const reuse = trustedNow(dir);
    expect([...reuse.trusted].sort()).toEqual(
      all.certs
        .filter((c) => c.spec.ca !== 'self')
        .map((c) => c.id)
        .sort(),
    );
    expect(reuse.freshKubeconfigs.size).toBe(all.kubeconfigs.length);
    const again = await generatePki(model(), dir);
    expect(changed(again)).toEqual([]);
    expect(again.written).toEqual([]);
  });

  it('notices a changed certificate: another valid one in its place is re-issued', async () => {
    await writeFile(join(dir, SERVER), await readFile(join(dir, 'pki/kubelets/n2/kubelet-server.crt')));
    expect(trustedNow(dir).trusted.has('kubelet-server/n1')).toBe(false);
    const r = await generatePki(model(), dir);
    expect(changed(r)).toEqual(['kubelet-server/n1 reissued: CN is "n2", expected "n1"']);
  });

  it('notices a removed file', async () => {
    await unlink(join(dir, 'kubeconfigs/nodes/n2/kubelet.conf'));
    const reuse = trustedNow(dir);
    expect(reuse.freshKubeconfigs.has('kubeconfigs/nodes/n2/kubelet.conf')).toBe(false);
    const r = await generatePki(model(), dir);
    expect(changed(r)).toEqual([]);
    expect(r.written).toEqual(['kubeconfigs/nodes/n2/kubelet.conf']);
  });

  it('notices a corrupted file of the same size whose mtime was set back (its ctime moved)', async () => {
    const path = join(dir, SERVER);
    const before = statSync(path);
    const bytes = readFileSync(path);
    bytes[100] = bytes[100] === 0x41 ? 0x42 : 0x41;
    writeFileSync(path, bytes);
    utimesSync(path, before.atime, before.mtime);
    expect(statSync(path).size).toBe(before.size);
    expect(trustedNow(dir).trusted.has('kubelet-server/n1')).toBe(false);
    const r = await generatePki(model(), dir);
    expect(changed(r)).toEqual([expect.stringMatching(/^kubelet-server\/n1 reissued: /)]);
  });

  it('keeps a file touched or rewritten with the same bytes (its hash is recorded), and records its new identity', async () => {
    const path = join(dir, SERVER);
    await writeFile(path, await readFile(path));
    expect(trustedNow(dir).trusted.has('kubelet-server/n1')).toBe(true);
    const r = await generatePki(model(), dir);
    expect(changed(r)).toEqual([]);
    const record = JSON.parse(await readFile(join(dir, ISSUED_RECORD), 'utf8')) as { files: Record<string, { identity: string }> };
    const info = statSync(path, { bigint: true });
    expect(record.files[SERVER]!.identity).toBe(`${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}`);
  });

  it('vouches for nothing whose spec or CA changed, or that is due for renewal', async () => {
    await generatePki(model(inventory('127.0.3.2')), dir);
    const m = model();
    const plan = expandPki(m);
    const record = readRecord(dir);
    const caSha = new Map(plan.certs.filter((c) => c.spec.ca === 'self').map((c) => [c.ca, sha256(readFileSync(join(dir, c.files!.crt)))]));
    const judge = (over: Partial<Parameters<typeof recordedReuse>[0]>) =>
      recordedReuse({ plan, algorithm: m.keyAlgorithm, record, checker: fileChecker(dir, record), caSha, now: new Date(), renewalDue: () => false, ...over });
    // the record was written for master address 127.0.3.2: the certificates naming m1's address differ from this spec
    const leaves = plan.certs.filter((c) => c.spec.ca !== 'self').map((c) => c.id);
    const trusted = judge({}).trusted;
    expect(leaves.filter((id) => !trusted.has(id)).sort()).toEqual(['apiserver', 'etcd-peer/m1', 'etcd-server/m1', 'kubelet-server/m1']);
    expect(judge({ caSha: new Map([...caSha].map(([k]) => [k, 'another CA'])) }).trusted.size).toBe(0);
    expect(judge({ renewalDue: (c) => c.id === 'kubelet-client/n2' }).trusted.has('kubelet-client/n2')).toBe(false);
    expect(judge({ algorithm: 'rsa-2048' }).trusted.size).toBe(0);
  });

  it('is only a saving: an unreadable record means every file is checked, and all is still kept', async () => {
    await writeFile(join(dir, ISSUED_RECORD), '{ not json');
    expect(trustedNow(dir).trusted.size).toBe(0);
    const r = await generatePki(model(), dir);
    expect(changed(r)).toEqual([]);
    expect(r.written).toEqual([]);
    expect(trustedNow(dir).trusted.size).toBeGreaterThan(0);
  });

  it('puts a trusted key with a looser mode back to 0600', async () => {
    await chmod(join(dir, 'pki/kubelets/n1/kubelet-server.key'), 0o644);
    const r = await generatePki(model(), dir);
    expect(r.warnings).toContain('pki/kubelets/n1/kubelet-server.key had mode 0644, set to 0600');
    expect(statSync(join(dir, 'pki/kubelets/n1/kubelet-server.key')).mode & 0o777).toBe(0o600);
  });
});
