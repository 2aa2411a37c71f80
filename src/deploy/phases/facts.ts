// Gathers what every later phase decides from: OS, architecture, init system, ports, kernel
// settings, and the state kubeinstall left on the host before; the host's plan takes what depends on them (resolvConf).
import { posix } from 'node:path';
import { holdsVip, runsKubelet } from '../../inventory/model.js';
import { stagingFor } from '../../ssh/upload-plan.js';
import { factsScript, parseFacts } from '../facts.js';
import { HASH_RECORD } from '../file-diff.js';
import { requiredModules, requiredSysctls } from '../host-settings.js';
import { hostsInRun } from '../hosts.js';
import { parseVersion } from '../binaries.js';
import { binariesToRead, parseVersionLines, versionScript } from '../installed-versions.js';
import { kubeletResolvConf } from '../../render/node.js';
import { withKubeletResolvConf } from '../../render/plan.js';
import { packageFactsQuery } from '../packages.js';
import { osCniPluginsQuery } from '../pod-network-checks.js';
import { podSubnetHosts } from '../../network/pod-subnets.js';
import type { Phase } from '../types.js';

export const factsPhase: Phase = {
  name: 'facts',
  title: 'Gather facts',
  hosts: hostsInRun,
  steps: () => [
    {
      title: 'gather facts',
      run: async (ctx, hp) => {
        const script = factsScript({
          units: hp.services.map((s) => s.unit),
          modules: requiredModules(hp),
          sysctlKeys: requiredSysctls(hp).map((s) => s.key),
          commands: [...packageFactsQuery(ctx.model, hp.host), ...osCniPluginsQuery(ctx.model, hp)],
          diskDirs: [...new Set(hp.files.map((f) => posix.dirname(f.path)))],
          ...(stagingFor(hp.host.ssh.sudo) === 'home' ? { stagingUser: hp.host.ssh.user } : {}),
          hashRecord: HASH_RECORD,
          // vip: where keepalived will run, and whether the VIP is free (preflight-checks.ts)
          ...(holdsVip(ctx.model, hp.host) ? { addresses: [hp.host.internalAddress, ctx.model.apiEndpoint.host] } : {}),
          // images: which the host already has (preflight-checks.ts), where a kubelet will run
          images: runsKubelet(hp.host),
          networks: podSubnetHosts({ network: ctx.model.network, hosts: [hp.host] }).length > 0,
        });
        const before = Date.now();
        const { stdout } = await ctx.executor.exec(hp.host, script, { step: 'gather facts', sudo: true });
        const gathered = parseFacts(stdout, (before + Date.now()) / 2000);
        const toRead = binariesToRead(hp, gathered);
        const facts = toRead.length
          ? {
              ...gathered,
              installedVersions: parseVersionLines(
                (await ctx.executor.exec(hp.host, versionScript(toRead), { step: 'installed versions', sudo: true })).stdout,
              ),
            }
          : gathered;
        ctx.facts.set(hp.host.name, facts);
        ctx.refineHostPlan(withKubeletResolvConf(ctx.model, hp, kubeletResolvConf(facts.systemdResolvedActive)));
        const running = [...facts.unitStates].filter(([, s]) => s === 'active').length;
        const installed = [...(facts.installedVersions ?? [])].map(([binary, text]) => `${binary} ${parseVersion(text) ?? text}`);
        const replacing = installed.length ? `; replacing ${installed.join(', ')} with ${ctx.model.kubernetesVersion}` : '';
        const host = `${facts.os}, ${facts.arch}${facts.systemd ? ', systemd' : ', no systemd'}`;
        return `${host}, ${running}/${facts.unitStates.size} kubeinstall services running${replacing}`;
      },
    },
  ],
};
