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

  it.each(SUPPORTED_KUBERNETES_MINORS.flatMap((m) => FLAG_COMPONENTS.map((c) => [m, c] as const)))('exist for %s %s and list no removed flag', (minor, component) => {
    const table = flagsFor(minor, component);
    expect(table.size).toBeGreaterThan(20);
    for (const gone of REMOVED[component] ?? []) expect(table.has(gone), `--${gone}`).toBe(false);
  });

  // k8s.io/apiserver pkg/server/options/server_run_options.go registers both flags from v0.33.0 on, not at v0.32.0.
  it('date the emulation forward-compatibility flags to 1.33 (absent from the 1.32 apiserver)', () => {
    const forwardCompatible = ['emulation-forward-compatible', 'runtime-config-emulation-forward-compatible'];
    for (const name of forwardCompatible) {
      expect(flagsFor('1.32', 'kube-apiserver').has(name), `1.32 --${name}`).toBe(false);
      expect(flagsFor('1.33', 'kube-apiserver').has(name), `1.33 --${name}`).toBe(true);
    }
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
