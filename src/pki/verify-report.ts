// The text form of `verify-certs`, in the spirit of `kubeadm certs check-expiration`.
import type { VerifyRow } from './verify.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad2 = (n: number): string => String(n).padStart(2, '0');

/** `Dec 14, 2026 03:33 UTC`, as kubeadm prints it. */
export const formatExpiry = (iso: string): string => {
  const d = new Date(iso);
  return `${MONTHS[d.getUTCMonth()]} ${pad2(d.getUTCDate())}, ${d.getUTCFullYear()} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())} UTC`;
};

/** Kubernetes' ShortHumanDuration: `<invalid>`, `45s`, `12m`, `5h`, `364d`, `9y`. */
export const shortHumanDuration = (seconds: number): string => {
  if (seconds < -1) return '<invalid>';
  if (seconds < 60) return `${Math.max(0, seconds)}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h`;
  if (seconds < 365 * 86_400) return `${Math.floor(seconds / 86_400)}d`;
  return `${Math.floor(seconds / (365 * 86_400))}y`;
};

/** Columns padded to their widest cell plus three spaces (kubeadm's tabwriter padding). */
const table = (rows: readonly (readonly string[])[]): string[] => {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) =>
    r
      .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]! + 3)))
      .join('')
      .trimEnd(),
  );
};

const expiryCells = (r: VerifyRow): [string, string] =>
  r.expires !== undefined ? [formatExpiry(r.expires), shortHumanDuration(r.residualSeconds!)] : ['-', '-'];

export const formatVerifyTable = (rows: readonly VerifyRow[]): string => {
  const leaves = rows.filter((r) => r.kind !== 'ca');
  const cas = rows.filter((r) => r.kind === 'ca');
  const problems = rows.flatMap((r) => r.problems.map((p) => `  ${r.host ? `${r.host} ` : ''}${r.name}: ${p}`));
  // Rows read from hosts (`--remote`) start with the host; a CA there is a copy, so the table says where it lies.
  const remote = rows.some((r) => r.host !== undefined);
  const hostCell = (r: VerifyRow): string[] => (remote ? [r.host ?? '-'] : []);
  return `${[
    ...table([
      [...(remote ? ['HOST'] : []), 'CERTIFICATE', 'EXPIRES', 'RESIDUAL TIME', 'CERTIFICATE AUTHORITY', 'STATUS'],
      ...leaves.map((r) => [...hostCell(r), r.name, ...expiryCells(r), r.ca ?? '-', r.status]),
    ]),
    '',
    ...table([
      [...(remote ? ['HOST'] : []), 'CERTIFICATE AUTHORITY', 'EXPIRES', 'RESIDUAL TIME', remote ? 'FILE' : 'EXTERNALLY MANAGED', 'STATUS'],
      ...cas.map((r) => [...hostCell(r), r.name, ...expiryCells(r), remote ? r.file : r.externallyManaged ? 'yes' : 'no', r.status]),
    ]),
    ...(problems.length ? ['', 'problems:', ...problems] : []),
  ].join('\n')}\n`;
};
