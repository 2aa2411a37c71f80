// POSIX shell quoting for commands sent to remote hosts.
export const quote = (s: string): string => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`);

export const quoteAll = (args: readonly string[]): string => args.map(quote).join(' ');
