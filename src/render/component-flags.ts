// The flags each Kubernetes component on a host gets, checked against the minor's official flag table so a
// flag the binary would reject (unknown, removed, or deprecated) never reaches a unit file.
import { runsRole, type ClusterModel, type Host } from '../inventory/model.js';
import { flagNames, type Flag } from './command.js';
import { apiServerFlags, controllerManagerFlags, schedulerFlags } from './control-plane.js';
import { flagProblems, type FlagComponent } from './flags.js';
import { kubeletFlags, kubeProxyFlags } from './node.js';

export const componentFlags = (model: ClusterModel, host: Host): [FlagComponent, Flag[]][] => [
  ...(runsRole(host, 'master')
    ? ([
        ['kube-apiserver', apiServerFlags(model, host)],
        ['kube-controller-manager', controllerManagerFlags(model)],
        ['kube-scheduler', schedulerFlags()],
      ] as [FlagComponent, Flag[]][])
    : []),
  ...(runsRole(host, 'node')
    ? ([
        ['kubelet', kubeletFlags(host)],
        ['kube-proxy', kubeProxyFlags()],
      ] as [FlagComponent, Flag[]][])
    : []),
];

export const hostFlagProblems = (model: ClusterModel, host: Host): string[] =>
  componentFlags(model, host).flatMap(([component, flags]) => flagProblems(model.kubernetesMinor, component, flagNames(flags)));
