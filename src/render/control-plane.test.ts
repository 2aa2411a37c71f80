import { describe, expect, it } from 'vitest';
import { SUPPORTED_KUBERNETES_MINORS } from '../versions.js';
import { DEFAULT_API_SERVER_SHUTDOWN_DELAY_SECONDS as DEFAULT_DELAY } from '../inventory/model.js';
import { flagsFor } from './flags.js';
import { renderLbConfig } from './lb.js';
import { buildClusterPlan } from './plan.js';
import { ALL_BINARIES, binaryIndexFor, clusterFilesFor, modelFrom, parseUnit } from './test-fixtures.js';
import type { ClusterPlan } from './types.js';

const MASTERS = [1, 2, 3].map((n) => `  - { name: m${n}, address: 198.18.43.${n + 1}, roles: [etcd, master] }\n`).join('');
const NODE = '  - { name: n1, address: 198.18.43.5, roles: [node] }\n';
const planOf = (cluster = ''): ClusterPlan => {
  const model = modelFrom(MASTERS + NODE, cluster);
  return buildClusterPlan(model, clusterFilesFor(model), binaryIndexFor(ALL_BINARIES));
};
const text = (p: ClusterPlan, host: string, path: string): string => {
  const f = p.hosts.find((h) => h.host.name === host)!.files.find((x) => x.path === path);
  if (f?.content.kind !== 'inline') throw new Error(`${host} has no inline ${path}`);
  return f.content.data.toString();
};
const number = (pattern: RegExp, source: string): number => {
  const m = pattern.exec(source);
  if (!m) throw new Error(`${pattern} not in:\n${source}`);
  return Number(m[1]);
};

describe("the API server's graceful stop", () => {
  const plan = planOf();
  const api = parseUnit(text(plan, 'm2', '/etc/systemd/system/kube-apiserver.service'));

  it('keeps serving, not ready, for the shutdown delay; closes its listener after it (no --shutdown-send-retry-after)', () => {
    expect(api.flags.get('shutdown-delay-duration')).toBe(`${DEFAULT_DELAY}s`);
    expect(api.flags.has('shutdown-send-retry-after')).toBe(false);
  });

  it('is given longer by systemd than the delay and the requests in flight (60 s) together', () => {
    expect(Number(api.sections.get('Service')!.get('TimeoutStopSec')!.replace(/s$/, ''))).toBeGreaterThan(DEFAULT_DELAY + 60);
  });

  it('takes the delay from cluster.apiServerShutdownDelaySeconds (a load balancer with slower checks needs more)', () => {
    const longer = parseUnit(text(planOf('  apiServerShutdownDelaySeconds: 45\n'), 'm2', '/etc/systemd/system/kube-apiserver.service'));
    expect(longer.flags.get('shutdown-delay-duration')).toBe('45s');
    expect(Number(longer.sections.get('Service')!.get('TimeoutStopSec')!.replace(/s$/, ''))).toBeGreaterThan(45 + 60);
  });

  it.each(SUPPORTED_KUBERNETES_MINORS)('is a flag of kube-apiserver %s (the table the stand-in checks), not deprecated', (minor) => {
    expect(flagsFor(minor, 'kube-apiserver').get('shutdown-delay-duration')).toEqual({ name: 'shutdown-delay-duration', deprecated: false });
  });

  // The delay is only worth it if every balancer has taken the master out before it ends: worst case, the last check
  // passed just before SIGTERM, and `fall` failed checks `inter` apart follow.
  it("outlasts node-local HAProxy's checks (inter x fall), which leave a stopping master's connections alone", () => {
    const cfg = renderLbConfig(modelFrom(MASTERS + NODE));
    const checks = /^\s*default-server check .*$/m.exec(cfg)?.[0] ?? '';
    expect(number(/\binter (\d+)s\b/, checks) * number(/\bfall (\d+)\b/, checks)).toBeLessThanOrEqual(DEFAULT_DELAY / 2);
    expect(checks).not.toMatch(/on-marked-down/);
  });

  it("outlasts keepalived's check (interval x fall) and VRRP's hand-over of the VIP (an advert interval)", () => {
    const conf = text(planOf('  apiEndpoint: 198.18.43.100:6443\n  apiEndpointKind: vip\n'), 'm2', '/etc/keepalived/keepalived.conf');
    const script = /vrrp_script kubeinstall_apiserver \{[^}]*\}/.exec(conf)?.[0] ?? '';
    const takeOut = number(/interval (\d+)\n/, script) * number(/fall (\d+)\n/, script) + number(/advert_int (\d+)\n/, conf);
    expect(takeOut).toBeLessThanOrEqual(DEFAULT_DELAY / 2);
  });
});
