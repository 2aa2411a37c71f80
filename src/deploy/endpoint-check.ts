// An external load balancer (apiEndpointKind: loadbalancer) is not kubeinstall's to run, so deploy checks
// it where it matters: from every kubelet host, before its kubelet and kube-proxy start, the endpoint must
// answer /readyz with a certificate of the cluster CA. Each host that cannot reach it fails, named.
import { pki } from '../render/paths.js';
import { KubeinstallError } from '../util/errors.js';
import { probeCommand } from '../render/probe.js';
import { waitScript } from './services.js';
import type { DeployContext, Step } from './types.js';

/** The kinds whose endpoint deploy does not provide itself and so checks from the nodes. */
export const checksEndpointFromNodes = (ctx: DeployContext): boolean => ctx.model.apiEndpoint.kind === 'loadbalancer';

export const endpointFromNodeStep: Step = {
  title: 'reach the API endpoint',
  // A host that does not reach it is named and left alone; a roll of the nodes goes on, so one run names them all.
  checksOnly: true,
  run: async (ctx, hp) => {
    const url = `${ctx.model.apiEndpoint.url}/readyz`;
    // Before a first upload the host has no CA to check it with, nor the API servers behind it may run.
    if (ctx.options.dryRun) return `would check ${url} from here`;
    // Waited for: the load balancer's own health checks take a moment to see API servers that just started.
    const seconds = Math.ceil(ctx.options.healthTimeoutMs / 1000);
    const result = await ctx.executor.exec(hp.host, waitScript([], probeCommand([{ url, ca: pki('ca.crt') }]), seconds), {
      step: 'reach the API endpoint',
      sudo: true,
      allowFailure: true,
      timeoutMs: ctx.options.healthTimeoutMs + 15_000,
    });
    if (result.code !== 0) {
      throw new KubeinstallError(
        `${hp.host.name} does not reach the API through the load balancer ${ctx.model.apiEndpoint.url} (apiEndpointKind: loadbalancer): ` +
          `${result.stderr.trim() || `exit code ${result.code}`}`,
      );
    }
    return `${url} ok`;
  },
};
