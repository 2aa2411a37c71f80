// Host preparation: firewall, SELinux, swap, modules, sysctls; what the host does not allow is
// reported per host with the reason. Then the OS packages the host lacks (packages-install.ts).
import { prepDecisions } from '../host-prep.js';
import { reachedHosts } from '../hosts.js';
import { installPackagesStep } from '../packages-install.js';
import { outcomeOf, type Phase } from '../types.js';

export const preparePhase: Phase = {
  name: 'prepare',
  title: 'Prepare hosts',
  hosts: reachedHosts,
  steps: () => [
    {
      title: 'prepare',
      run: async (ctx, hp) => {
        const decisions = prepDecisions(ctx.facts.get(hp.host.name)!, hp);
        const changed: string[] = [];
        const cannot = decisions.filter((d) => d.blocked).map((d) => `${d.item}: ${d.problem}; ${d.blocked}`);
        for (const d of decisions.filter((x) => x.command)) {
          const result = await ctx.wet(hp.host, `run \`${d.command}\` (${d.item})`, () =>
            ctx.executor.exec(hp.host, d.command!, { step: `prepare ${d.item}`, sudo: true, allowFailure: true }),
          );
          // The host refused (a module the kernel cannot load here): report it, the deploy goes on.
          if (result && result.code !== 0)
            cannot.push(`${d.item}: ${d.problem}; \`${d.command}\` failed: ${result.stderr.trim().split('\n').slice(-2).join(' ')}`);
          else changed.push(`${d.item} (${d.problem})`);
        }
        outcomeOf(ctx, hp.host).notes.push(...cannot.map((c) => `could not change ${c}`));
        const verb = ctx.options.dryRun ? 'would change' : 'changed';
        const parts = [changed.length ? `${verb} ${changed.join(', ')}` : 'nothing to change', ...cannot.map((c) => `could not change ${c}`)];
        return parts.join('; ');
      },
    },
    installPackagesStep,
  ],
};
