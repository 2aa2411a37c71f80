// Opens the connection to every host of the run; every unreachable host is listed with its reason.
import { hostsInRun } from '../hosts.js';
import type { Phase } from '../types.js';

export const connectPhase: Phase = {
  name: 'connect',
  title: 'Connect',
  hosts: hostsInRun,
  steps: () => [
    {
      title: 'connect over SSH',
      run: async (ctx, hp) => {
        // The login user may come from ~/.ssh/config rather than the inventory; under sudo, SUDO_USER names it.
        const { stdout } = await ctx.executor.exec(hp.host, 'printf "%s %s\\n" "${SUDO_USER:-$(id -un)}" "$(id -un)"', { step: 'connect', sudo: true });
        const [login, effective] = stdout.trim().split(' ');
        return `as ${login}${effective !== login ? ` (sudo: ${effective})` : ''}`;
      },
    },
  ],
};
