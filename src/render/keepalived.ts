// apiEndpointKind vip: keepalived on every master holds the VIP (VRRP over unicast between the masters'
// internal addresses), and gives it up while the local API server is not ready. Debian's (and RHEL's)
// keepalived.service runs it; a drop-in of ours finds, on the host, the interface that holds the
// internal address, so the plan needs no facts and stays pure. Choices explained: docs/render.md.
import { posix } from 'node:path';
import { hostsWithRole, type ClusterModel, type Host } from '../inventory/model.js';
import { VRRP_PASSWORD_FILE, parseVrrpPassword } from '../pki/vrrp.js';
import { KubeinstallError } from '../util/errors.js';
import { hostPort, ipFamily } from '../util/ip.js';
import { quote } from '../util/shell.js';
import { dropInPath, HOST_PATHS, pki } from './paths.js';
import { LOOPBACK } from './ports.js';
import { probeCommand } from './probe.js';
import { textFile, type RoleRender } from './rendered.js';
import { renderAsset } from './template.js';
import { UNITS } from './units.js';

/** Prints the name of the interface holding `address` (nothing when none does): the one way kubeinstall
 * asks, in keepalived's interface script and in the facts that preflight reads. */
export const interfaceOfCommand = (address: string): string => `ip -o addr show to ${quote(address)} | while read -r _ name _; do echo "$name"; break; done`;

/** The readiness keepalived tracks: the local API server's anonymous /readyz, verified with the cluster CA. */
const apiServerCheck = (model: ClusterModel): string =>
  renderAsset('keepalived/kubeinstall-check-apiserver', {
    probe: probeCommand([{ url: `https://${hostPort(LOOPBACK, model.apiServerPort)}/readyz`, ca: pki('ca.crt') }]),
  });

const unicastPeers = (model: ClusterModel, host: Host): string => {
  const peers = hostsWithRole(model, 'master').filter((m) => m.name !== host.name);
  return peers.length ? `  unicast_peer {\n${peers.map((p) => `    ${p.internalAddress}\n`).join('')}  }\n` : '';
};

const renderKeepalivedConf = (model: ClusterModel, host: Host, password: string): string =>
  renderAsset('keepalived/keepalived.conf', {
    vip: `${model.apiEndpoint.host}/${ipFamily(model.apiEndpoint.host) === 6 ? 128 : 32}`,
    hostName: host.name,
    internalAddress: host.internalAddress,
    interfaceScript: HOST_PATHS.keepalivedInterfaceScript,
    interfaceConf: HOST_PATHS.keepalivedInterfaceConf,
    checkScript: HOST_PATHS.keepalivedCheck,
    routerId: String(model.vrrpRouterId),
    unicastPeers: unicastPeers(model, host),
    password,
  });

/** keepalived's files on a master of a vip cluster (`holdsVip`), from the cluster folder's VRRP password. */
export const renderKeepalived = (model: ClusterModel, host: Host, passwordFile: Buffer): RoleRender => {
  const password = parseVrrpPassword(passwordFile);
  if (!password) throw new KubeinstallError(`cannot plan: ${VRRP_PASSWORD_FILE} in the cluster folder is not 8 letters and digits`);
  const { keepalived } = UNITS;
  const interfaceScript = renderAsset('keepalived/kubeinstall-interface', {
    internalAddress: host.internalAddress,
    interfaceOf: interfaceOfCommand(host.internalAddress),
    interfaceConf: HOST_PATHS.keepalivedInterfaceConf,
    interfaceConfDir: posix.dirname(HOST_PATHS.keepalivedInterfaceConf),
  });
  // Its configuration, check and interface scripts are taken on a reload (SIGHUP), which keeps the VIP where
  // it is; only a change of the unit's drop-in restarts it.
  const reloaded = (path: string, data: string, mode: number) => ({ ...textFile(path, data, [], mode), reloads: [keepalived] });
  return {
    files: [
      reloaded(HOST_PATHS.keepalivedConf, renderKeepalivedConf(model, host, password), 0o600),
      reloaded(HOST_PATHS.keepalivedCheck, apiServerCheck(model), 0o755),
      reloaded(HOST_PATHS.keepalivedInterfaceScript, interfaceScript, 0o755),
      textFile(dropInPath(keepalived), renderAsset('keepalived/keepalived.service.d.conf', { interfaceScript: HOST_PATHS.keepalivedInterfaceScript }), [
        keepalived,
      ]),
    ],
    // After the API server, whose readiness its check tracks; no probe: which master holds the VIP is VRRP's call.
    services: [{ unit: keepalived, phase: 'control-plane' }],
  };
};
