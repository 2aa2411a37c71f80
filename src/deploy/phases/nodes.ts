// Nodes: containerd, kubelet and kube-proxy, in the plan's order.
import { hostsRunning } from '../hosts.js';
import { servicesOf } from '../services.js';
import type { Phase } from '../types.js';
import { startAndWait } from './control-plane.js';

export const nodesPhase: Phase = {
  name: 'nodes',
  title: 'Start node services',
  hosts: (ctx) => hostsRunning(ctx, 'node'),
  steps: () => startAndWait('node services', (hp) => servicesOf(hp, 'node')),
};
