// The plan as an operator reads it: a table per host, or the same as JSON data.
import type { ClusterPlan, PendingFile, PlannedFile } from './types.js';

/** Shown in place of the size and hash of a file whose input does not exist yet. */
export const NOT_YET_AVAILABLE = 'not yet available';

/** The command that makes a pending file's input. */
const MADE_BY: Readonly<Record<PendingFile['awaiting'], string>> = {
  pki: 'kubeinstall certs',
  binary: 'kubeinstall binaries fetch',
  environment: 'set in the environment of deploy',
};

export const modeText = (mode: number): string => mode.toString(8).padStart(4, '0');

const sizeText = (bytes: number): string =>
  bytes < 1024 ? `${bytes} B` : bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 1048576).toFixed(1)} MiB`;

export const planSummary = (plan: ClusterPlan) => ({
  hosts: plan.hosts.map((h) => ({
    name: h.host.name,
    address: h.host.address,
    internalAddress: h.host.internalAddress,
    roles: h.host.roles,
    files: h.files.map((f: PlannedFile) => ({
      path: f.path,
      mode: modeText(f.mode),
      owner: f.owner,
      size: f.size,
      sha256: f.sha256,
      source: f.content.kind === 'local' ? f.content.localPath : 'inline',
      restarts: f.restarts,
      ...(f.reloads ? { reloads: f.reloads } : {}),
    })),
    pending: (h.pending ?? []).map((p) => ({ path: p.path, mode: modeText(p.mode), from: p.from, madeBy: MADE_BY[p.awaiting] })),
    services: h.services,
  })),
  manifests: plan.manifests.map((m) => ({ name: m.name, size: Buffer.byteLength(m.yaml) })),
});

/** The sha256 is shortened to 12 hex digits here; `--output json` has it whole. */
export const planTable = (plan: ClusterPlan): string => {
  const out: string[] = [];
  for (const h of plan.hosts) {
    const pending = h.pending ?? [];
    const count = `${h.files.length + pending.length} files${pending.length > 0 ? ` (${pending.length} not yet available)` : ''}`;
    out.push(`${h.host.name} (${h.host.internalAddress}; ${h.host.roles.join(', ')}): ${count}, ${h.services.length} services`);
    const rows = [
      ...h.files.map((f) => [modeText(f.mode), sizeText(f.size), f.sha256.slice(0, 12), f.path]),
      ...pending.map((p) => [modeText(p.mode), '-', NOT_YET_AVAILABLE, `${p.path} (${p.from}: ${MADE_BY[p.awaiting]})`]),
    ];
    const width = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows) out.push(`  ${r[0]!.padEnd(width[0]!)}  ${r[1]!.padStart(width[1]!)}  ${r[2]!.padEnd(width[2]!)}  ${r[3]}`);
    out.push(`  services: ${h.services.map((s) => `${s.unit} [${s.phase}]`).join(', ')}`, '');
  }
  if (plan.manifests.length > 0) out.push(`manifests applied once the API server is up: ${plan.manifests.map((m) => m.name).join(', ')}`);
  return `${out.join('\n')}\n`;
};
