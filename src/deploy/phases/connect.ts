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
        const { stdout } = await ctx.executor.exec(hp.host, 'id -un', { step: 'connect', sudo: true });
        return `as ${hp.host.ssh.user}${hp.host.ssh.sudo ? ` (sudo: ${stdout.trim()})` : ''}`;
      },
    },
  ],
};
