// Per-minor tables of each component's valid flags (assets/flags/<minor>/<component>.txt), taken from the
// official command-line reference and checked, where the registering Go source is a staging repository, against
// it at the minor's tag (scripts/check-flag-tables.mjs; each file's header says which flags were checked). The
// renderer checks its own output against them, and test stand-ins for the real binaries read the same files to
// reject what the real binary would reject.
import { readAsset } from './assets.js';

export const FLAG_COMPONENTS = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubelet', 'kube-proxy'] as const;
export type FlagComponent = (typeof FLAG_COMPONENTS)[number];

export interface FlagSpec {
  readonly name: string;
  readonly deprecated: boolean;
}

/** Parses a flag table: one name a line without `--`, an optional trailing ` deprecated`, `#` comments. */
export const parseFlagTable = (text: string, source: string): ReadonlyMap<string, FlagSpec> => {
  const flags = new Map<string, FlagSpec>();
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = /^([a-z0-9][a-z0-9-]*)(?: (deprecated))?$/.exec(line);
    if (!m) throw new Error(`${source}:${index + 1}: expected "flag-name" or "flag-name deprecated", got "${line}"`);
    flags.set(m[1]!, { name: m[1]!, deprecated: m[2] !== undefined });
  });
  return flags;
};

/** Parsed once a run: every host's flags are checked against the same few tables. */
const tables = new Map<string, ReadonlyMap<string, FlagSpec>>();

export const flagsFor = (minor: string, component: FlagComponent): ReadonlyMap<string, FlagSpec> => {
  const relative = `flags/${minor}/${component}.txt`;
  let table = tables.get(relative);
  if (!table) tables.set(relative, (table = parseFlagTable(readAsset(relative), `assets/${relative}`)));
  return table;
};

/** Why each rendered flag would be rejected by this minor's binary (unknown or deprecated); empty when all are fine. */
export const flagProblems = (minor: string, component: FlagComponent, rendered: readonly string[]): string[] => {
  const table = flagsFor(minor, component);
  return rendered.flatMap((name) => {
    const spec = table.get(name);
    if (!spec) return [`${component} ${minor} has no flag --${name}`];
    return spec.deprecated ? [`${component} ${minor} marks --${name} deprecated`] : [];
  });
};
