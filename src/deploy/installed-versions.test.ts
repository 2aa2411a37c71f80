import { describe, expect, it } from 'vitest';
import { binPath } from '../render/paths.js';
import { parseFacts, type Facts } from './facts.js';
import { binariesToRead, parseVersionLines, versionFindings, versionScript } from './installed-versions.js';
import { batchSize, parseMaxUnavailable } from './roll.js';
import { factsStdout, hostPlan, recordLine, testCluster } from './testing/cluster.js';

const { model } = testCluster(); // kubernetesVersion 1.34.2
const KUBELET = binPath('kubelet');
const APISERVER = binPath('kube-apiserver');

/** A host's facts whose hash record holds each named binary with other bytes than planned (`other`) or the planned ones. */
const factsOf = (name: string, record: Readonly<Record<string, 'planned' | 'other'>>, versions: Readonly<Record<string, string>> = {}): Facts => {
  const hp = hostPlan(name);
  const lines = hp.files.filter((f) => record[f.path]).map((f) => `record=${recordLine(f, 1, record[f.path] === 'planned' ? f.sha256 : 'e'.repeat(64))}`);
  const facts = parseFacts(`${factsStdout(hp)}\n${lines.join('\n')}`, 0);
  return Object.keys(versions).length ? { ...facts, installedVersions: new Map(Object.entries(versions)) } : facts;
};
const at = (name: string, facts: Facts) => ({ hp: hostPlan(name), facts });
const messages = (upgrade: boolean, ...hosts: ReturnType<typeof at>[]) =>
  versionFindings(model, hosts, upgrade).map((f) => `${f.severity} ${f.host}: ${f.message}`);

describe('installed versions', () => {
  it('are read only where the upload replaces a binary kubeinstall put there', () => {
    expect(binariesToRead(hostPlan('m1'), factsOf('m1', { [KUBELET]: 'other', [APISERVER]: 'other' }))).toEqual([APISERVER, KUBELET]);
    expect(binariesToRead(hostPlan('n1'), factsOf('n1', { [KUBELET]: 'planned' }))).toEqual([]);
    expect(binariesToRead(hostPlan('n1'), factsOf('n1', {}))).toEqual([]); // a first deploy
    expect(versionScript([KUBELET])).toContain(`for b in ${KUBELET}; do`);
    expect(parseVersionLines(`version=${KUBELET}=Kubernetes v1.33.5\nversion=${APISERVER}=Kubernetes v1.33.5\nother=1\n`)).toEqual(
      new Map([
        ['kubelet', 'Kubernetes v1.33.5'],
        ['kube-apiserver', 'Kubernetes v1.33.5'],
      ]),
    );
  });

  it('deploy refuses any version change and points at upgrade', () => {
    expect(messages(false, at('n1', factsOf('n1', { [KUBELET]: 'other' }, { kubelet: 'Kubernetes v1.34.1' })))).toEqual([
      'error n1: kubelet 1.34.1 is installed here and the inventory says 1.34.2: a version change is an upgrade ' +
        '(masters first, each Node drained): run `kubeinstall upgrade`',
    ]);
  });

  it('upgrade allows a patch or the next minor; refuses a skipped minor and a downgrade', () => {
    const masters = ['m1', 'm2', 'm3'].map((m) =>
      at(m, factsOf(m, { [APISERVER]: 'other', [KUBELET]: 'other' }, { 'kube-apiserver': 'Kubernetes v1.33.5', kubelet: 'Kubernetes v1.33.5' })),
    );
    expect(messages(true, ...masters, at('n1', factsOf('n1', { [KUBELET]: 'other' }, { kubelet: 'Kubernetes v1.33.0' })))).toEqual([]);
    expect(messages(true, at('n1', factsOf('n1', { [KUBELET]: 'other' }, { kubelet: 'Kubernetes v1.32.9' })))).toEqual([
      'error n1: kubelet 1.32.9 is installed here: 1.34.2 skips a minor; upgrade one minor at a time (first to 1.33)',
    ]);
    expect(messages(true, at('n1', factsOf('n1', { [KUBELET]: 'other' }, { kubelet: 'Kubernetes v1.35.0' })))).toEqual([
      'error n1: kubelet 1.35.0 is installed here: 1.34.2 would be a downgrade, which kubeinstall refuses (an etcd backup taken before restores)',
    ]);
  });

  it('refuses a kubelet newer than an API server as the hosts are now (one already at the planned version counts)', () => {
    const m1 = at('m1', factsOf('m1', { [APISERVER]: 'other', [KUBELET]: 'other' }, { 'kube-apiserver': 'Kubernetes v1.33.5', kubelet: 'Kubernetes v1.33.5' }));
    const n1 = at('n1', factsOf('n1', { [KUBELET]: 'planned' }));
    expect(messages(true, m1, n1)).toEqual([
      'error n1: the kubelet here (1.34.2) is newer than the API server on m1 (1.33.5); a kubelet may not be newer than any API server',
    ]);
    // A node without a kubelet yet gets the new one after the masters: no finding.
    expect(messages(true, m1, at('n2', factsOf('n2', {})))).toEqual([]);
  });

  it('a --version that names no version is a warning, not a refusal', () => {
    expect(messages(true, at('n1', factsOf('n1', { [KUBELET]: 'other' }, { kubelet: 'Segmentation fault' })))).toEqual([
      'warning n1: cannot tell the version of the installed kubelet, so it is not checked: --version printed "Segmentation fault"',
    ]);
  });
});

describe('--max-unavailable', () => {
  it('is a whole number of at least 1 or a percentage from 1 to 100, rounded down to at least one host', () => {
    expect(['2', '25%', '100%', '0', '0%', '101%', 'x', '1.5'].map(parseMaxUnavailable)).toEqual([
      { count: 2 },
      { percent: 25 },
      { percent: 100 },
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    expect([batchSize({ count: 2 }, 5), batchSize({ count: 9 }, 5), batchSize({ percent: 25 }, 10), batchSize({ percent: 1 }, 10)]).toEqual([2, 5, 2, 1]);
  });
});
