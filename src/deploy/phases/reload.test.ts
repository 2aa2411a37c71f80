// A file that names units to reload (kube-lb's HAProxy config) reloads them instead of restarting them,
// remembered on the host as a pending-reload marker until the reload happened, like a pending restart.
import { describe, expect, it } from 'vitest';
import { runPhases } from '../manager.js';
import {
  COMPARE_COMMAND,
  compareStdout,
  factsRules,
  hostPlan,
  recordLine,
  statLine,
  testContext,
  nodeServicesPhase as nodeServices,
} from '../testing/cluster.js';
import { fakeExecutor } from '../testing/fake-executor.js';
import { HOST_PATHS } from '../../render/paths.js';
import { UNITS } from '../../render/units.js';
import { factsPhase } from './facts.js';
import { uploadPhase } from './upload.js';

const MTIME = 1_700_000_000;
const n1 = hostPlan('n1');
const WAIT = /^deadline=/;
/** n1 holds every planned file but kube-lb's config, which names another master list. */
const compare = {
  host: 'n1',
  command: COMPARE_COMMAND,
  reply: {
    stdout: compareStdout(
      n1.files.map((f) => recordLine(f, MTIME, f.path === HOST_PATHS.kubeLbConfig ? 'e'.repeat(64) : f.sha256)),
      n1.files.map((f) => statLine(f, MTIME)),
    ),
  },
};

describe('reloads', () => {
  it("kube-lb's config names kube-lb.service to reload, its unit file to restart", () => {
    const byPath = new Map(n1.files.map((f) => [f.path, f]));
    expect(byPath.get(HOST_PATHS.kubeLbConfig)).toMatchObject({ restarts: [], reloads: [UNITS.kubeLb] });
    expect(byPath.get(`/etc/systemd/system/${UNITS.kubeLb}`)).toMatchObject({ restarts: [UNITS.kubeLb] });
  });

  it('a changed config: marked pending before the upload, then reloaded, not restarted', async () => {
    const fake = fakeExecutor({
      acceptUploads: true,
      exec: [
        ...factsRules({ n1: {} }),
        compare,
        { command: /^mkdir -p \/var\/lib\/kubeinstall\/pending-reload && touch/, reply: {} },
        { command: /^mkdir -p \/var\/lib\/kubeinstall && exec 3<&0 && stat/, reply: {} },
        { command: /^systemctl reload kube-lb\.service && rm -f/, reply: {} },
        { command: WAIT, reply: {} },
      ],
    });
    const { ctx } = testContext(fake, { hosts: new Set(['n1']) });
    await runPhases([factsPhase, uploadPhase, nodeServices], ctx, 'lines');
    expect(fake.unexpected).toEqual([]);
    const steps = fake.calls.map((c) => (c.kind === 'exec' ? c.opts.step : c.step));
    expect(steps.indexOf('record pending reloads')).toBeLessThan(steps.indexOf('upload files'));
    expect(fake.execs('n1').some((c) => /systemctl restart/.test(c.command))).toBe(false);
    expect(ctx.outcomes.get('n1')).toMatchObject({ restarted: [], reloaded: [UNITS.kubeLb] });
  });

  it('a reload pending from an earlier run is done; a restart clears it too', async () => {
    const fake = fakeExecutor({
      exec: [
        ...factsRules({ n1: { pendingReloads: [UNITS.kubeLb] } }),
        { command: /^systemctl reload kube-lb\.service && rm -f/, reply: {} },
        { command: WAIT, reply: {} },
      ],
    });
    const { ctx } = testContext(fake, { hosts: new Set(['n1']) });
    await runPhases([factsPhase, nodeServices], ctx, 'lines');
    expect(fake.unexpected).toEqual([]);
    expect(ctx.outcomes.get('n1')).toMatchObject({ restarted: [], reloaded: [UNITS.kubeLb] });

    const down = fakeExecutor({
      exec: [
        ...factsRules({
          n1: {
            pendingReloads: [UNITS.kubeLb],
            units: Object.fromEntries(n1.services.map((sv) => [sv.unit, sv.unit === UNITS.kubeLb ? 'inactive' : 'active'])),
          },
        }),
        { command: /systemctl restart --no-block kube-lb\.service/, reply: {} },
        { command: WAIT, reply: {} },
      ],
    });
    const again = testContext(down, { hosts: new Set(['n1']) });
    await runPhases([factsPhase, nodeServices], again.ctx, 'lines');
    expect(down.unexpected).toEqual([]);
    const start = down.execs('n1').find((c) => /systemctl restart/.test(c.command))!.command;
    expect(start).toContain(`/var/lib/kubeinstall/pending-reload/${UNITS.kubeLb}`);
    expect(again.ctx.outcomes.get('n1')).toMatchObject({ restarted: [UNITS.kubeLb], reloaded: [] });
  });
});
