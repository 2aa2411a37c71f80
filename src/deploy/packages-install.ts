// Prepare's install of the OS packages a host lacks (decision in packages.ts). Unlike the kernel settings,
// a package that cannot be installed stops the deploy: the host cannot run what needs it.
import { KubeinstallError } from '../util/errors.js';
import { installPlan, PACKAGE_MANAGERS } from './packages.js';
import { outcomeOf, type Step } from './types.js';

/** Lines of the package manager's output a failure quotes. */
const TAIL_LINES = 6;

export const installPackagesStep: Step = {
  title: 'install packages',
  run: async (ctx, hp) => {
    const plan = installPlan(ctx.model, hp.host, ctx.facts.get(hp.host.name)!);
    if (!plan) return 'nothing to install';
    const { command } = PACKAGE_MANAGERS[plan.manager];
    const what = `${plan.packages.join(', ')} with ${command}`;
    const result = await ctx.wet(hp.host, `install ${what}`, () =>
      ctx.executor.exec(hp.host, plan.command, { step: 'install packages', sudo: true, allowFailure: true, timeoutMs: 15 * 60_000 }),
    );
    if (!result) return `would install ${what}`;
    if (result.code !== 0) {
      const tail = result.stdout.trim().split('\n').slice(-TAIL_LINES).join('\n    ');
      throw new KubeinstallError(
        `${hp.host.name}: installing ${what} failed (exit code ${result.code}); ${command}'s last lines:\n    ${tail || '(no output)'}`,
      );
    }
    outcomeOf(ctx, hp.host).notes.push(`installed ${what}`);
    return `installed ${what}`;
  },
};
