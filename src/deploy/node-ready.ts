// Whether a Node is Ready, read from its status as the kubelet posts it, and its conditions shown as
// `kubectl describe node` shows them, for the verify phase's report of a Node that is not.

export interface NodeCondition {
  readonly type: string;
  readonly status: string;
  readonly reason?: string;
  readonly message?: string;
  readonly lastHeartbeatTime?: string;
  readonly lastTransitionTime?: string;
}

/** The part of a Node this reads. */
export interface NodeWithStatus {
  readonly status?: { readonly conditions?: readonly NodeCondition[] };
}

export const conditionsOf = (node: NodeWithStatus | undefined): readonly NodeCondition[] => node?.status?.conditions ?? [];

/** The Ready condition, once the kubelet posted one. */
export const readyCondition = (node: NodeWithStatus | undefined): NodeCondition | undefined => conditionsOf(node).find((c) => c.type === 'Ready');

export const isReady = (node: NodeWithStatus | undefined): boolean => readyCondition(node)?.status === 'True';

/** One line: `Ready=False KubeletNotReady: container runtime network not ready: ...`. */
export const readySummary = (node: NodeWithStatus | undefined): string => {
  const c = readyCondition(node);
  if (!c) return 'no Ready condition posted by its kubelet yet';
  return `Ready=${c.status}${c.reason ? ` ${c.reason}` : ''}${c.message ? `: ${c.message}` : ''}`;
};

const COLUMNS = ['Type', 'Status', 'LastHeartbeatTime', 'LastTransitionTime', 'Reason', 'Message'] as const;

/** The Conditions table of `kubectl describe node`: columns padded to their widest cell, a dashed rule under the header. */
export const describeConditions = (node: NodeWithStatus | undefined): string => {
  const rows = conditionsOf(node).map((c) => [c.type, c.status, c.lastHeartbeatTime ?? '', c.lastTransitionTime ?? '', c.reason ?? '', c.message ?? '']);
  if (!rows.length) return 'Conditions: none (the kubelet has not posted the Node status)';
  const table = [[...COLUMNS], COLUMNS.map((h) => '-'.repeat(h.length)), ...rows];
  const widths = COLUMNS.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
  const line = (r: readonly string[]) => `  ${r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]! + 2))).join('')}`.trimEnd();
  return ['Conditions:', ...table.map(line)].join('\n');
};
