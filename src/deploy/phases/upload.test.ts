import { describe, expect, it } from 'vitest';
import { runPhases } from '../manager.js';
import { COMPARE_COMMAND, compareStdout, factsRules, hostPlan, recordLine, statLine, testContext } from '../testing/cluster.js';
import { fakeExecutor } from '../testing/fake-executor.js';
import type { PlannedFile } from '../../render/types.js';
import { factsPhase } from './facts.js';
import { uploadPhase, uploadProgressText } from './upload.js';

const MTIME = 1_700_000_000;
const OTHER_SHA = 'f'.repeat(64);

// m1 holds every planned file as its record says. m2 differs in four ways: a unit file whose record
// names other bytes, a certificate that is missing, a key touched since the record (hashed: other
// bytes) and a binary touched since the record (hashed: the same bytes, so not sent).
const m1 = hostPlan('m1');
const m2 = hostPlan('m2');
const file = (path: string): PlannedFile => m2.files.find((f) => f.path === path)!;
const unitFile = file('/etc/systemd/system/etcd.service');
const missing = file('/etc/kubernetes/pki/etcd/healthcheck-client.crt');
const touchedKey = file('/etc/kubernetes/pki/etcd/server.key');
const touchedBinary = file('/usr/local/bin/etcdctl');
const caFile = file('/etc/kubernetes/pki/etcd/ca.crt');
const differing = [caFile, unitFile, missing, touchedKey];

const script = () => ({
  exec: [
    ...factsRules({ m1: {}, m2: {} }),
    {
      host: 'm1',
      command: COMPARE_COMMAND,
      reply: {
        stdout: compareStdout(
          m1.files.map((f) => recordLine(f, MTIME)),
          m1.files.map((f) => statLine(f, MTIME)),
        ),
      },
    },
    {
      host: 'm2',
      command: COMPARE_COMMAND,
      reply: {
        stdout: compareStdout(
          m2.files.map((f) => recordLine(f, MTIME, f === unitFile || f === caFile ? OTHER_SHA : f.sha256)),
          m2.files.filter((f) => f !== missing).map((f) => statLine(f, f === touchedKey || f === touchedBinary ? MTIME + 60 : MTIME)),
        ),
      },
    },
    { host: 'm2', command: /^sha256sum /, reply: { stdout: `${OTHER_SHA}  ${touchedKey.path}\n${touchedBinary.sha256}  ${touchedBinary.path}\n` } },
  ],
});

describe('upload phase, dry run', () => {
  it('lists the files that differ and the restarts they cause, uploads nothing and changes nothing', async () => {
    // The script answers only the read-only commands and refuses uploads: anything else fails the run.
    const fake = fakeExecutor(script());
    const { ctx, dryRunLines } = testContext(fake, { dryRun: true, hosts: new Set(['m1', 'm2']) });
    await runPhases([factsPhase, uploadPhase], ctx, 'lines');

    expect(fake.unexpected).toEqual([]);
    expect(fake.uploads()).toEqual([]);
    expect(new Set(fake.execs().map((c) => c.opts.step))).toEqual(new Set(['gather facts', 'compare files', 'hash files']));
    const listed = m2.files.filter((f) => differing.includes(f));
    const bytes = listed.reduce((n, f) => n + f.size, 0);
    expect(dryRunLines).toEqual([
      `m2: would upload ${listed.length} of ${m2.files.length} files (${(bytes / 1048576).toFixed(1)} MiB), then restart etcd.service, kube-apiserver.service: ${listed.map((f) => f.path).join(', ')}`,
    ]);
    expect(ctx.outcomes.get('m2')).toMatchObject({ changed: listed.map((f) => f.path), uploaded: [] });
  });

  it('lists nothing for a host whose record matches', async () => {
    const fake = fakeExecutor(script());
    const { ctx, dryRunLines } = testContext(fake, { dryRun: true, hosts: new Set(['m1']) });
    await runPhases([factsPhase, uploadPhase], ctx, 'lines');
    expect(fake.unexpected).toEqual([]);
    expect(fake.execs('m1').map((c) => c.opts.step)).toEqual(['gather facts', 'compare files']);
    expect(dryRunLines).toEqual([]);
    expect(ctx.outcomes.get('m1')?.changed ?? []).toEqual([]);
  });
});

describe('upload progress text', () => {
  it('shows the bytes sent of the host total in MiB', () => {
    expect(uploadProgressText(47_395_635, 96_154_419)).toBe('45.2 of 91.7 MiB');
    expect(uploadProgressText(0, 512)).toBe('0.0 of 0.0 MiB');
  });
});
