// Opens the connection to every host of the run; every unreachable host is listed with its reason.
import { hostsInRun } from '../hosts.js';
import type { Phase } from '../types.js';

/** The login user and who privileged steps run as. The login user may come from ~/.ssh/config rather
 * than the inventory; under sudo, SUDO_USER names it. */
export const WHO_COMMAND = 'printf "%s %s\\n" "${SUDO_USER:-$(id -un)}" "$(id -un)"';

/** `as ops (sudo: root)`, or `as root`, from the output of WHO_COMMAND run privileged. */
export const connectedAs = (stdout: string): string => {
  const [login, effective] = stdout.trim().split(' ');
  return `as ${login}${effective !== login ? ` (sudo: ${effective})` : ''}`;
};

export const connectPhase: Phase = {
  name: 'connect',
  title: 'Connect',
  hosts: hostsInRun,
  steps: () => [
    {
      title: 'connect over SSH',
      run: async (ctx, hp) => connectedAs((await ctx.executor.exec(hp.host, WHO_COMMAND, { step: 'connect', sudo: true })).stdout),
    },
  ],
};
