// Quoting for the POSIX shell commands sent to remote hosts (by ssh and by deploy).

const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** One shell word: left bare when it is plainly safe, single-quoted otherwise. */
export const quote = (word: string): string => (SAFE.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`);

export const quoteAll = (words: readonly string[]): string => words.map(quote).join(' ');
