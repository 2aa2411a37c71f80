// The iptables chains reset removes, by name and never by a blanket flush: per table, from what
// `iptables-save` prints, the rules of other chains that jump to a chain of ours are deleted, then
// every chain of ours is flushed and deleted, in one `iptables-restore --noflush` per family (a table
// changes as a whole, or not at all). Chains of anyone else, and their other rules, stay.
import { quoteAll } from '../util/shell.js';

/**
 * Chain name prefixes whose chains are ours: kube-proxy's and the kubelet's (KUBE-SERVICES,
 * KUBE-FIREWALL, KUBE-KUBELET-CANARY...). A CNI that kubeinstall installs adds its prefixes here
 * (e.g. `CNI-`, as the portmap and bridge plugins name theirs).
 */
export const OWNED_CHAIN_PREFIXES: readonly string[] = ['KUBE-'];

/** Each address family's save and restore commands; a family whose save command is not on the host is skipped. */
export const IPTABLES_FAMILIES = [
  { save: 'iptables-save', restore: 'iptables-restore' },
  { save: 'ip6tables-save', restore: 'ip6tables-restore' },
] as const;

const SECTION = '### ';

/** Prints each family's rules after a `### <save command>` line. */
export const iptablesInspectCommand = (): string =>
  [...IPTABLES_FAMILIES.map(({ save }) => `if command -v ${save} >/dev/null 2>&1; then echo '${SECTION}${save}'; ${save}; fi`), 'true'].join('\n');

const isOwned = (chain: string): boolean => OWNED_CHAIN_PREFIXES.some((p) => chain.startsWith(p));

/** The chain a rule jumps or goes to (`-j X`, `-g X`), outside of quoted text. */
const ruleTarget = (rule: string): string | undefined => {
  const unquoted = rule.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  return [...unquoted.matchAll(/(?:^| )-[jg] (\S+)/g)].at(-1)?.[1];
};

export interface TableCleanup {
  readonly table: string;
  /** Chains of ours in this table. */
  readonly chains: readonly string[];
  /** `-D <chain> <rule>` lines for the rules of other chains that jump to one of ours. */
  readonly deletes: readonly string[];
}

/** What goes in each table, from one family's `iptables-save` output; tables with nothing of ours are left out. */
export const tableCleanups = (save: string): TableCleanup[] => {
  const cleanups: TableCleanup[] = [];
  let current: { table: string; chains: string[]; deletes: string[] } | undefined;
  for (const line of save.split('\n')) {
    if (line.startsWith('*')) current = { table: line.slice(1).trim(), chains: [], deletes: [] };
    else if (!current) continue;
    else if (line.startsWith(':')) {
      const chain = line.slice(1).split(' ')[0]!;
      if (isOwned(chain)) current.chains.push(chain);
    } else if (line.startsWith('-A ')) {
      const [, chain = '', ...rest] = line.split(' ');
      const target = ruleTarget(line);
      if (!isOwned(chain) && target && isOwned(target)) current.deletes.push(`-D ${chain} ${rest.join(' ')}`);
    } else if (line.trim() === 'COMMIT') {
      if (current.chains.length) cleanups.push(current);
      current = undefined;
    }
  }
  return cleanups;
};

/** The input for `iptables-restore --noflush`: deletes first, then flush every chain of ours (they jump to each other), then delete them. */
export const restoreInput = (cleanups: readonly TableCleanup[]): string[] =>
  cleanups.flatMap((t) => [`*${t.table}`, ...t.deletes, ...t.chains.map((c) => `-F ${c}`), ...t.chains.map((c) => `-X ${c}`), 'COMMIT']);

/** Splits the inspect output into each family's save output. */
export const savesByFamily = (stdout: string): Map<string, string> => {
  const saves = new Map<string, string>();
  let family: string | undefined;
  for (const line of stdout.split('\n')) {
    if (line.startsWith(SECTION)) {
      family = line.slice(SECTION.length).trim();
      saves.set(family, '');
    } else if (family) saves.set(family, `${saves.get(family)}${line}\n`);
  }
  return saves;
};

export interface IptablesCleanup {
  /** `filter: KUBE-FORWARD`-style entries, per family. */
  readonly what: string[];
  readonly command: string;
}

/** The removal of every chain of ours in every family, or undefined when there is none. */
export const iptablesCleanup = (stdout: string): IptablesCleanup | undefined => {
  const saves = savesByFamily(stdout);
  const what: string[] = [];
  const commands: string[] = [];
  for (const { save, restore } of IPTABLES_FAMILIES) {
    const cleanups = tableCleanups(saves.get(save) ?? '');
    if (!cleanups.length) continue;
    const family = save.replace(/-save$/, '');
    what.push(...cleanups.map((t) => `${family} ${t.table}: ${t.chains.join(' ')}`));
    commands.push(`printf '%s\\n' ${quoteAll(restoreInput(cleanups))} | ${restore} --noflush`);
  }
  return commands.length ? { what, command: commands.join(' && ') } : undefined;
};
