// A component's command line as data (ordered flag/value pairs), and its form in a unit's ExecStart=.
export type Flag = readonly [name: string, value: string];

/** systemd expands `%` specifiers and `$` variables in ExecStart=; values are escaped so they reach the binary as written. */
const forExecStart = (value: string): string => {
  if (/[\s"'\\;]/.test(value)) throw new Error(`flag value ${JSON.stringify(value)} contains a character that needs quoting in ExecStart=`);
  return value.replace(/%/g, '%%').replace(/\$/g, '$$$$');
};

/** `binary --a=1 --b=2`, one flag a line (systemd joins lines ending in a backslash). */
export const execStart = (binary: string, flags: readonly Flag[]): string =>
  [binary, ...flags.map(([name, value]) => `--${name}=${forExecStart(value)}`)].join(' \\\n    ');

export const flagNames = (flags: readonly Flag[]): string[] => flags.map(([name]) => name);
