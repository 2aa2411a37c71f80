// node-local API endpoint: on a host that runs a kubelet and is not a master, HAProxy (the OS package's
// binary, run by our own kube-lb.service) listens on 127.0.0.1:<apiServerPort> in front of every master's
// API server, checked on /readyz. A change of the master list changes only the config, which reloads it.
import { hostsWithRole, NODE_LOCAL_API_HOST, type ClusterModel } from '../inventory/model.js';
import { hostPort } from '../util/ip.js';
import { HOST_PATHS, pki, unitPath } from './paths.js';
import { textFile, type RoleRender } from './rendered.js';
import { renderAsset } from './template.js';
import { UNITS } from './units.js';

/** From the haproxy package (Debian, Ubuntu, RHEL alike), not from the binaries folder. */
export const HAPROXY_BINARY = '/usr/sbin/haproxy';

/** Masters by name: the name is only HAProxy's label, the address the one they advertise. */
export const renderLbConfig = (model: ClusterModel): string =>
  renderAsset('config/kube-lb.cfg', {
    bind: hostPort(NODE_LOCAL_API_HOST, model.apiServerPort),
    socket: HOST_PATHS.kubeLbSocket,
    servers: hostsWithRole(model, 'master')
      .map((m) => `    server ${m.name} ${hostPort(m.internalAddress, model.apiServerPort)}`)
      .join('\n'),
  });

export const renderLocalLoadBalancer = (model: ClusterModel): RoleRender => ({
  files: [
    { ...textFile(HOST_PATHS.kubeLbConfig, renderLbConfig(model), []), reloads: [UNITS.kubeLb] },
    textFile(unitPath(UNITS.kubeLb), renderAsset(`units/${UNITS.kubeLb}`, { haproxy: HAPROXY_BINARY, config: HOST_PATHS.kubeLbConfig }), [UNITS.kubeLb]),
  ],
  services: [
    // Through the balancer, as the kubelet will: anonymous /readyz, the server checked against the cluster CA.
    {
      unit: UNITS.kubeLb,
      phase: 'node',
      health: { kind: 'on-host', url: `https://${hostPort(NODE_LOCAL_API_HOST, model.apiServerPort)}/readyz`, ca: pki('ca.crt') },
    },
  ],
});
