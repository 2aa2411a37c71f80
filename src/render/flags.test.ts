import { describe, expect, it } from 'vitest';
import { SUPPORTED_KUBERNETES_MINORS } from '../versions.js';
import { flagNames } from './command.js';
import { componentFlags, hostFlagProblems } from './component-flags.js';
import { FLAG_COMPONENTS, flagProblems, flagsFor, parseFlagTable } from './flags.js';
import { modelFrom } from './test-fixtures.js';

const REMOVED: Record<string, string[]> = {
  'kube-apiserver': ['insecure-bind-address', 'insecure-port', 'kubelet-https', 'address', 'port', 'experimental-encryption-provider-config'],
  'kube-controller-manager': ['address', 'port', 'experimental-cluster-signing-duration'],
  kubelet: ['network-plugin', 'cni-bin-dir', 'cni-conf-dir', 'docker-endpoint', 'container-runtime', 'experimental-dockershim-root-directory'],
};

describe('flag tables', () => {
  it('parse names and deprecation marks, skipping comments', () => {
    const table = parseFlagTable('# comment\nbind-address\n\nkube-api-qps deprecated\n', 'x.txt');
    expect([...table.values()]).toEqual([
      { name: 'bind-address', deprecated: false },
      { name: 'kube-api-qps', deprecated: true },
    ]);
  });

  it('reject a malformed line, naming file and line', () => {
    expect(() => parseFlagTable('ok\n--with-dashes\n', 'assets/flags/9.99/kubelet.txt')).toThrow('assets/flags/9.99/kubelet.txt:2');
  });

  it.each(SUPPORTED_KUBERNETES_MINORS.flatMap((m) => FLAG_COMPONENTS.map((c) => [m, c] as const)))(
    'exist for %s %s and list no removed flag',
    (minor, component) => {
      const table = flagsFor(minor, component);
      expect(table.size).toBeGreaterThan(20);
      for (const gone of REMOVED[component] ?? []) expect(table.has(gone), `--${gone}`).toBe(false);
    },
  );

  // Read from the tagged Go sources (scripts/check-flag-tables.mjs; each table's header says what was checked).
  it.each([
    // k8s.io/apiserver pkg/server/options/server_run_options.go: registered at v0.33.0, not at v0.32.0 (issue 9 item 17)
    ['kube-apiserver', 'emulation-forward-compatible', '1.33'],
    ['kube-apiserver', 'runtime-config-emulation-forward-compatible', '1.33'],
    // k8s.io/component-base compatibility/registry.go: registered at v0.35.0 only
    ['kube-apiserver', 'min-compatibility-version', '1.35'],
    ['kube-controller-manager', 'min-compatibility-version', '1.35'],
    ['kube-scheduler', 'min-compatibility-version', '1.35'],
    // its config (k8s.io/kube-controller-manager config/v1alpha1 DeviceTaintEvictionController) appears at v0.35.0
    ['kube-controller-manager', 'concurrent-device-taint-eviction-syncs', '1.35'],
  ] as const)('list %s --%s from %s on, not before', (component, flag, first) => {
    const listed = SUPPORTED_KUBERNETES_MINORS.filter((minor) => flagsFor(minor, component).has(flag));
    expect(listed).toEqual(SUPPORTED_KUBERNETES_MINORS.slice(SUPPORTED_KUBERNETES_MINORS.indexOf(first)));
  });

  // Registered with MarkDeprecated in every supported minor: accepted with a warning, hidden from the reference pages.
  it.each([
    ['kube-apiserver', 'default-watch-cache-size'], // k8s.io/apiserver pkg/server/options/etcd.go
    ['kube-apiserver', 'audit-webhook-batch-initial-backoff'], // k8s.io/apiserver pkg/server/options/audit.go
    ['kube-controller-manager', 'allow-untagged-cloud'], // k8s.io/cloud-provider options/kubecloudshared.go
    ['kube-controller-manager', 'node-sync-period'],
  ] as const)('list %s --%s as deprecated in every minor', (component, flag) => {
    for (const minor of SUPPORTED_KUBERNETES_MINORS)
      expect(flagsFor(minor, component).get(flag), `${minor} --${flag}`).toEqual({ name: flag, deprecated: true });
  });

  it('report unknown and deprecated flags (the check the renderer relies on can fail)', () => {
    expect(flagProblems('1.35', 'kube-apiserver', ['bind-address', 'insecure-bind-address', 'enable-logs-handler'])).toEqual([
      'kube-apiserver 1.35 has no flag --insecure-bind-address',
      'kube-apiserver 1.35 marks --enable-logs-handler deprecated',
    ]);
  });
});

describe('rendered flags', () => {
  it.each(SUPPORTED_KUBERNETES_MINORS)('all exist and none is deprecated in Kubernetes %s', (minor) => {
    const model = modelFrom('  - { name: a1, address: 127.0.4.41, roles: [etcd, master, node] }\n');
    const atMinor = { ...model, kubernetesVersion: `${minor}.0`, kubernetesMinor: minor };
    const host = atMinor.hosts[0]!;
    expect(componentFlags(atMinor, host).map(([c]) => c)).toEqual([...FLAG_COMPONENTS]);
    expect(hostFlagProblems(atMinor, host)).toEqual([]);
    for (const [component, flags] of componentFlags(atMinor, host)) {
      for (const gone of REMOVED[component] ?? []) expect(flagNames(flags)).not.toContain(gone);
    }
  });
});
