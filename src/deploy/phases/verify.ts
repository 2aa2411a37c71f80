// Verify: every planned unit is active on every host of the run.
import { reachedHosts } from '../hosts.js';
import { queryUnits, serviceFailed } from '../services.js';
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
        const status = await queryUnits(ctx, hp.host, units);
        const down = units.filter((u) => status.get(u)?.state !== 'active');
        if (down.length && !ctx.options.dryRun) await serviceFailed(ctx, hp.host, down[0]!, `not active: ${down.map((u) => `${u} (${status.get(u)?.state})`).join(', ')}`);
        return `running: ${units.filter((u) => !down.includes(u)).join(', ') || 'none yet'}`;
      },
    },
  ],
};
