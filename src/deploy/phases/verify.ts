// Verify: every planned unit is active on every host of the run. Where this run started nothing,
// the facts' states stand (and the service phases have just checked each unit's health).
import { reachedHosts } from '../hosts.js';
import { serviceFailed, unitStatus } from '../services.js';
import type { Phase } from '../types.js';

export const verifyPhase: Phase = {
  name: 'verify',
  title: 'Verify',
  hosts: reachedHosts,
  steps: () => [
    {
      title: 'services running',
      run: async (ctx, hp) => {
        const units = hp.services.map((s) => s.unit);
        if (!units.length) return 'no services here';
        const status = await unitStatus(ctx, hp.host, units);
        const down = units.filter((u) => status.get(u)?.state !== 'active');
        if (down.length && !ctx.options.dryRun)
          await serviceFailed(ctx, hp.host, down[0]!, `not active: ${down.map((u) => `${u} (${status.get(u)?.state})`).join(', ')}`);
        return `running: ${units.filter((u) => !down.includes(u)).join(', ') || 'none yet'}`;
      },
    },
  ],
};
