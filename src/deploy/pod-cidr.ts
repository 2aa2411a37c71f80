// cluster.network.plugin bridge: each Node's spec.podCIDR is its host's recorded pod subnet (the controller-manager does
// not allocate them then: --allocate-node-cidrs=false), so `kubectl get nodes` and anything reading Node podCIDRs agree with
// the CNI configs. The API sets a podCIDR once: one that differs is reported, never changed.
import { getNode, patchNode } from './api-client.js';
import { outcomeOf, type Step } from './types.js';
import { KubeinstallError } from '../util/errors.js';
import { nodeApi, registeredNode } from './phases/nodes.js';

interface NodeCidr {
  readonly metadata: { readonly resourceVersion?: string };
  readonly spec?: { readonly podCIDR?: string };
}

/** The merge patch that sets the Node's podCIDR, none when it is set already; throws when it is another one. */
export const podCidrPatch = (node: NodeCidr, name: string, subnet: string): object | undefined => {
  const current = node.spec?.podCIDR;
  if (current === subnet) return undefined;
  if (current) {
    throw new KubeinstallError(
      `Node ${name} has podCIDR ${current}, but its recorded pod subnet is ${subnet}: a Node's podCIDR cannot change ` +
        `(kubectl delete node ${name}, then restart its kubelet to register it again)`,
    );
  }
  return { metadata: { resourceVersion: node.metadata.resourceVersion }, spec: { podCIDR: subnet, podCIDRs: [subnet] } };
};

export const podCidrStep: Step = {
  title: "set the Node's podCIDR",
  run: async (ctx, hp) => {
    const subnet = hp.podSubnet;
    if (!subnet) return undefined;
    if (ctx.options.dryRun) return `would set podCIDR ${subnet}`;
    await registeredNode(ctx, hp);
    const node = (await getNode(nodeApi(ctx), hp.host.name)) as NodeCidr;
    const patch = podCidrPatch(node, hp.host.name, subnet);
    if (!patch) return `podCIDR ${subnet}`;
    const res = await patchNode(nodeApi(ctx), hp.host.name, patch);
    if (res.status < 200 || res.status >= 300)
      throw new KubeinstallError(`${hp.host.name}: setting Node ${hp.host.name}'s podCIDR: HTTP ${res.status}: ${res.body.slice(0, 300)}`);
    outcomeOf(ctx, hp.host).notes.push(`Node podCIDR: ${subnet}`);
    return `set podCIDR ${subnet}`;
  },
};
