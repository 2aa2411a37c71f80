// Named checks before anything changes; see preflight-checks.ts for the table.
import { LOCAL_ARCHITECTURE, readBinaryVersion, readElfArchitecture, readSha256Sums } from '../binaries.js';
import { reachedHosts } from '../hosts.js';
import { runPreflight, VERSIONED_BINARIES, type Finding, type LocalBinaryCheck } from '../preflight-checks.js';
import { KubeinstallError } from '../../util/errors.js';
import type { DeployContext, Phase } from '../types.js';

/**
 * Versions are read from the local binaries, by running them here: they are the bytes that will run
 * on the hosts, and preflight must decide before anything is uploaded. A binary built for another
 * architecture cannot run here; its version check is then skipped with a warning saying so.
 */
const versionOf = async (name: string, localPath: string, arch: string | undefined): Promise<Pick<LocalBinaryCheck, 'version' | 'versionUnknown'>> => {
  if (!VERSIONED_BINARIES.includes(name)) return {};
  if (arch !== undefined && arch !== LOCAL_ARCHITECTURE) return { versionUnknown: `it is built for ${arch} and this machine is ${LOCAL_ARCHITECTURE}` };
  try {
    return { version: await readBinaryVersion(localPath) };
  } catch (err) {
    return { versionUnknown: (err as Error).message };
  }
};

const localBinaries = async (ctx: DeployContext): Promise<LocalBinaryCheck[]> => {
  const byName = new Map<string, { name: string; localPath: string; sha256: string }>();
  for (const hp of ctx.plan.hosts) {
    for (const f of hp.files) {
      if (f.content.kind === 'local')
        byName.set(f.path.slice(f.path.lastIndexOf('/') + 1), {
          name: f.path.slice(f.path.lastIndexOf('/') + 1),
          localPath: f.content.localPath,
          sha256: f.sha256,
        });
    }
  }
  return Promise.all(
    [...byName.values()].map(async (b) => {
      const arch = await readElfArchitecture(b.localPath);
      return { name: b.name, sha256: b.sha256, ...(arch ? { arch } : {}), ...(await versionOf(b.name, b.localPath, arch)) };
    }),
  );
};

const findings = (ctx: DeployContext): Promise<Finding[]> =>
  ctx.once('preflight', async () =>
    runPreflight(
      {
        model: ctx.model,
        hostPlans: reachedHosts(ctx),
        facts: ctx.facts,
        binaries: await localBinaries(ctx),
        sha256sums: await readSha256Sums(ctx.model.binariesDir),
        upgrade: ctx.options.upgrade !== undefined,
      },
      ctx.options.ignorePreflight,
    ),
  );

const describe = (list: readonly Finding[]): string => list.map((f) => `[${f.check}] ${f.message}`).join('; ');

/** Throws on errors; returns the warnings as one line. */
const verdict = (list: readonly Finding[], where: string): string | undefined => {
  const errors = list.filter((f) => f.severity === 'error');
  const warnings = list.filter((f) => f.severity === 'warning');
  if (errors.length) {
    throw new KubeinstallError(
      `${where}: ${errors.map((f) => `\n    [${f.check}] ${f.message}`).join('')}\n` +
        `  skip a check with --ignore-preflight-errors=${[...new Set(errors.map((f) => f.check))].join(',')}`,
    );
  }
  return warnings.length ? `${warnings.length} warning(s): ${describe(warnings)}` : undefined;
};

export const preflightPhase: Phase = {
  name: 'preflight',
  title: 'Preflight checks',
  hosts: reachedHosts,
  steps: () => [
    {
      title: 'checks',
      run: async (ctx, hp) =>
        verdict(
          (await findings(ctx)).filter((f) => f.host === hp.host.name),
          'preflight errors',
        ) ?? 'all passed',
    },
  ],
  finish: async (ctx) =>
    verdict(
      (await findings(ctx)).filter((f) => f.host === undefined),
      'cluster-wide preflight errors',
    ) ?? `binaries ok (${ctx.model.binariesDir})`,
};
