// The Kubernetes version each host runs, read from the binaries deployed there (`<binary> --version`), and
// what deploy and upgrade allow from it. Read only where the upload would replace a binary kubeinstall put
// there (its hash record names other bytes): an unchanged binary is the planned one, so a re-run without a
// version change starts no extra process; a host without the record (a first deploy) has none of ours.
import type { ClusterModel } from '../inventory/model.js';
import type { HostPlan } from '../render/types.js';
import { quoteAll } from '../util/shell.js';
import { compareVersions } from '../versions.js';
import { parseVersion } from './binaries.js';
import type { Facts } from './facts.js';
import { parseHashRecord } from './file-diff.js';

/** The binaries whose version the skew policy is about. */
const VERSIONED: readonly string[] = ['kube-apiserver', 'kubelet'];

const nameOf = (path: string): string => path.slice(path.lastIndexOf('/') + 1);

/** The planned binaries whose installed version must be read on the host (paths). */
export const binariesToRead = (hp: HostPlan, facts: Facts): string[] => {
  const recorded = parseHashRecord(facts.hashRecord);
  return hp.files
    .filter((f) => f.content.kind === 'local' && VERSIONED.includes(nameOf(f.path)))
    .filter((f) => {
      const r = recorded.get(f.path);
      return r !== undefined && r.sha256 !== f.sha256;
    })
    .map((f) => f.path);
};

/** `version=<path>=<first line of --version>` for each of the paths that is there. */
export const versionScript = (paths: readonly string[]): string =>
  [`for b in ${quoteAll(paths)}; do`, '  [ -x "$b" ] && echo "version=$b=$("$b" --version 2>&1 | head -n 1)"', 'done', 'true'].join('\n');

/** Binary name -> what its `--version` printed. */
export const parseVersionLines = (stdout: string): Map<string, string> =>
  new Map(
    stdout
      .split('\n')
      .filter((l) => l.startsWith('version='))
      .map((l) => {
        const rest = l.slice('version='.length);
        const eq = rest.indexOf('=');
        return [nameOf(rest.slice(0, eq)), rest.slice(eq + 1)] as const;
      }),
  );

export interface VersionFinding {
  readonly severity: 'error' | 'warning';
  readonly host?: string;
  readonly message: string;
}

const minorIndex = (version: string): number => {
  const [major, minor] = version.split('.').map(Number);
  return major! * 1000 + minor!;
};

/** What one installed binary allows: the same version, or (in an upgrade) a patch or the next minor. */
const perBinary = (binary: string, installed: string, target: string, upgrade: boolean): string | undefined => {
  if (compareVersions(installed, target) === 0) return undefined;
  if (!upgrade)
    return (
      `${binary} ${installed} is installed here and the inventory says ${target}: a version change is an upgrade ` +
      '(masters first, each Node drained): run `kubeinstall upgrade`'
    );
  if (compareVersions(target, installed) < 0)
    return `${binary} ${installed} is installed here: ${target} would be a downgrade, which kubeinstall refuses (an etcd backup taken before restores)`;
  if (minorIndex(target) - minorIndex(installed) > 1) {
    const [major, minor] = installed.split('.').map(Number);
    return `${binary} ${installed} is installed here: ${target} skips a minor; upgrade one minor at a time (first to ${major}.${minor! + 1})`;
  }
  return undefined;
};

interface HostVersions {
  readonly hp: HostPlan;
  readonly facts: Facts;
}

/**
 * Per host, each installed version against the inventory's; and across the cluster, no kubelet newer than
 * the oldest API server (Kubernetes' skew policy), as the hosts are now: the roll itself keeps it, masters first.
 * A binary not read is the planned one, at the inventory's version.
 */
export const versionFindings = (model: ClusterModel, hosts: readonly HostVersions[], upgrade: boolean): VersionFinding[] => {
  const target = model.kubernetesVersion;
  const findings: VersionFinding[] = [];
  // What runs now: the version read, or the inventory's where the record holds the planned binary; nothing on a host without it.
  const versionOf = (h: HostVersions, binary: string): string | undefined => {
    const text = h.facts.installedVersions?.get(binary);
    if (text !== undefined) return parseVersion(text);
    const recorded = parseHashRecord(h.facts.hashRecord);
    return h.hp.files.some((f) => nameOf(f.path) === binary && recorded.get(f.path)?.sha256 === f.sha256) ? target : undefined;
  };
  for (const h of hosts) {
    for (const [binary, text] of h.facts.installedVersions ?? []) {
      const installed = parseVersion(text);
      const message = installed
        ? perBinary(binary, installed, target, upgrade)
        : `cannot tell the version of the installed ${binary}, so it is not checked: --version printed ${JSON.stringify(text.slice(0, 100))}`;
      if (message) findings.push({ severity: installed ? 'error' : 'warning', host: h.hp.host.name, message });
    }
  }
  const apiServers = hosts.flatMap((h) => {
    const v = versionOf(h, 'kube-apiserver');
    return v ? [{ host: h.hp.host.name, v }] : [];
  });
  const oldest = apiServers.sort((a, b) => compareVersions(a.v, b.v))[0];
  if (!oldest) return findings;
  for (const h of hosts) {
    const kubelet = versionOf(h, 'kubelet');
    if (kubelet && compareVersions(kubelet, oldest.v) > 0)
      findings.push({
        severity: 'error',
        host: h.hp.host.name,
        message: `the kubelet here (${kubelet}) is newer than the API server on ${oldest.host} (${oldest.v}); a kubelet may not be newer than any API server`,
      });
  }
  return findings;
};
