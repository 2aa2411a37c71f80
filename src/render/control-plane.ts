// A master: kube-apiserver, kube-controller-manager and kube-scheduler, each a systemd unit whose flags are
// data (one function per component). Where each listens, and why: docs/render.md.
import { hostsWithRole, type ClusterModel, type Host } from '../inventory/model.js';
import { hostPort } from '../util/ip.js';
import { execStart, type Flag } from './command.js';
import { etcdClientUrl } from './etcd.js';
import { binPath, etcdPki, HOST_PATHS, pki, unitPath } from './paths.js';
import { anyAddress, LOOPBACK, PORTS } from './ports.js';
import { textFile, type RoleRender } from './rendered.js';
import { renderAsset } from './template.js';
import { UNITS } from './units.js';

/** kube-apiserver's `--request-timeout` (not rendered: its default), which bounds the requests in flight after the delay. */
const API_SERVER_REQUEST_TIMEOUT_SECONDS = 60;

/** The API server unit's `TimeoutStopSec`: the delay, then its requests in flight, with the 30 s of slack systemd's
 * default 90 s left over them before there was a delay; systemd kills what is still running after it. */
export const apiServerStopTimeoutSeconds = (model: Pick<ClusterModel, 'apiServerShutdownDelaySeconds'>): number =>
  model.apiServerShutdownDelaySeconds + API_SERVER_REQUEST_TIMEOUT_SECONDS + 30;

export const apiServerFlags = (model: ClusterModel, host: Host): Flag[] => [
  ['advertise-address', host.internalAddress],
  // Every address of the master, so a VIP, `address` and 127.0.0.1 reach it as kubeadm's does.
  ['bind-address', anyAddress(host.internalAddress)],
  ['secure-port', String(model.apiServerPort)],
  ['etcd-servers', hostsWithRole(model, 'etcd').map(etcdClientUrl).join(',')],
  ['etcd-cafile', etcdPki('ca.crt')],
  ['etcd-certfile', pki('apiserver-etcd-client.crt')],
  ['etcd-keyfile', pki('apiserver-etcd-client.key')],
  ['tls-cert-file', pki('apiserver.crt')],
  ['tls-private-key-file', pki('apiserver.key')],
  ['client-ca-file', pki('ca.crt')],
  ['kubelet-client-certificate', pki('apiserver-kubelet-client.crt')],
  ['kubelet-client-key', pki('apiserver-kubelet-client.key')],
  // kubelet serving certificates are issued by the cluster CA (src/pki), so exec, logs and port-forward verify them.
  ['kubelet-certificate-authority', pki('ca.crt')],
  ['kubelet-preferred-address-types', 'InternalIP,ExternalIP,Hostname'],
  ['service-cluster-ip-range', model.serviceCidr.text],
  ['service-account-issuer', `https://kubernetes.default.svc.${model.clusterDomain}`],
  ['service-account-key-file', pki('sa.pub')],
  ['service-account-signing-key-file', pki('sa.key')],
  ['requestheader-client-ca-file', pki('front-proxy-ca.crt')],
  ['requestheader-allowed-names', 'front-proxy-client'],
  ['requestheader-username-headers', 'X-Remote-User'],
  ['requestheader-group-headers', 'X-Remote-Group'],
  ['requestheader-extra-headers-prefix', 'X-Remote-Extra-'],
  ['proxy-client-cert-file', pki('front-proxy-client.crt')],
  ['proxy-client-key-file', pki('front-proxy-client.key')],
  ['authorization-mode', 'Node,RBAC'],
  ['enable-admission-plugins', 'NodeRestriction'],
  ['allow-privileged', 'true'],
  ['audit-policy-file', HOST_PATHS.auditPolicy],
  ['audit-log-path', HOST_PATHS.auditLog],
  ['audit-log-maxage', '30'],
  ['audit-log-maxbackup', '10'],
  ['audit-log-maxsize', '100'],
  ['encryption-provider-config', HOST_PATHS.encryptionConfig],
  // CIS 1.2.x: no /debug/pprof on the API server.
  ['profiling', 'false'],
  // Not --shutdown-send-retry-after: it keeps the listener open after the delay and answers new requests 429 until those in
  // flight are done, and a TCP balancer (ours, and the one docs/operations.md describes) can send a refused connect to
  // another master but not a 429. Without it the listener closes and HTTP/2 clients get a GOAWAY, then reconnect.
  // cluster.apiServerShutdownDelaySeconds: fail /readyz at SIGTERM, then serve on until the balancers took this master out
  ['shutdown-delay-duration', `${model.apiServerShutdownDelaySeconds}s`],
];

export const controllerManagerFlags = (model: ClusterModel): Flag[] => [
  ['bind-address', LOOPBACK],
  ['kubeconfig', HOST_PATHS.controllerManagerConf],
  ['authentication-kubeconfig', HOST_PATHS.controllerManagerConf],
  ['authorization-kubeconfig', HOST_PATHS.controllerManagerConf],
  ['client-ca-file', pki('ca.crt')],
  ['requestheader-client-ca-file', pki('front-proxy-ca.crt')],
  ['root-ca-file', pki('ca.crt')],
  ['cluster-signing-cert-file', HOST_PATHS.clusterSigningCert],
  ['cluster-signing-key-file', pki('ca.key')],
  ['service-account-private-key-file', pki('sa.key')],
  ['use-service-account-credentials', 'true'],
  ['leader-elect', 'true'],
  ['cluster-name', model.name],
  // The bridge network's subnets are kubeinstall's (recorded by certs; deploy sets each Node's podCIDR to its own): the
  // controller-manager must not hand out others. Other networks may read Node podCIDRs: it allocates them, the same size.
  ...((model.network.plugin === 'bridge'
    ? [['allocate-node-cidrs', 'false']]
    : [
        ['allocate-node-cidrs', 'true'],
        ['node-cidr-mask-size', String(model.network.nodeSubnetSize)],
      ]) satisfies Flag[]),
  ['cluster-cidr', model.podCidr.text],
  ['service-cluster-ip-range', model.serviceCidr.text],
  ['profiling', 'false'], // CIS 1.3.x
];

export const schedulerFlags = (): Flag[] => [
  ['config', HOST_PATHS.schedulerConfig],
  ['bind-address', LOOPBACK],
  ['authentication-kubeconfig', HOST_PATHS.schedulerConf],
  ['authorization-kubeconfig', HOST_PATHS.schedulerConf],
];

const unit = (name: string, binary: string, flags: readonly Flag[], values: Readonly<Record<string, string>> = {}) =>
  textFile(unitPath(name), renderAsset(`units/${name}`, { ...values, command: execStart(binPath(binary), flags) }), [name]);

const https = (host: Host, port: number, path: string) => ({ kind: 'https' as const, url: `https://${hostPort(host.internalAddress, port)}${path}` });
const onHost = (port: number) => ({ kind: 'on-host' as const, url: `https://${hostPort(LOOPBACK, port)}/healthz` });

export const renderControlPlane = (model: ClusterModel, host: Host): RoleRender => ({
  files: [
    textFile(HOST_PATHS.auditPolicy, renderAsset('config/audit-policy.yaml', {}), [UNITS.apiserver]),
    textFile(HOST_PATHS.schedulerConfig, renderAsset('config/kube-scheduler-config.yaml', { kubeconfig: HOST_PATHS.schedulerConf }), [UNITS.scheduler]),
    unit(UNITS.apiserver, 'kube-apiserver', apiServerFlags(model, host), { stopTimeout: `${apiServerStopTimeoutSeconds(model)}s` }),
    unit(UNITS.controllerManager, 'kube-controller-manager', controllerManagerFlags(model)),
    unit(UNITS.scheduler, 'kube-scheduler', schedulerFlags()),
  ],
  services: [
    { unit: UNITS.apiserver, phase: 'control-plane', health: https(host, model.apiServerPort, '/readyz') },
    { unit: UNITS.controllerManager, phase: 'control-plane', health: onHost(PORTS.controllerManager) },
    { unit: UNITS.scheduler, phase: 'control-plane', health: onHost(PORTS.scheduler) },
  ],
});
