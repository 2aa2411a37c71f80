// The one redaction function everything the executor logs or reports passes through: known secret
// values (passwords, passphrases) plus patterns for private key material and tokens.

export interface Redactor {
  /** Remember a secret value so it is masked wherever it appears. */
  add(secret: string | undefined): void;
  redact(text: string): string;
}

export const MASK = '***';

const PATTERNS: readonly [RegExp, string][] = [
  [/-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?(?:-----END \1PRIVATE KEY-----|$)/g, `-----BEGIN $1PRIVATE KEY----- ${MASK}`],
  [/\b(Bearer\s+)[A-Za-z0-9._~+/=-]+/gi, `$1${MASK}`],
  [/(^|\s)(--?(?:password|passphrase|token|secret)(?:=|\s+))(\S+)/gim, `$1$2${MASK}`],
  [/\b((?:password|passphrase|token|secret)\s*[=:]\s*)("[^"]*"|'[^']*'|\S+)/gi, `$1${MASK}`],
];

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export const createRedactor = (initial: readonly (string | undefined)[] = []): Redactor => {
  const secrets = new Set<string>();
  let literal: RegExp | undefined;
  const add = (secret: string | undefined): void => {
    if (!secret || secrets.has(secret)) return;
    secrets.add(secret);
    // Longest first, so a secret that contains another is masked whole.
    literal = new RegExp(
      [...secrets]
        .sort((a, b) => b.length - a.length)
        .map(escapeRegExp)
        .join('|'),
      'g',
    );
  };
  initial.forEach(add);
  return {
    add,
    redact: (text) => PATTERNS.reduce((acc, [re, to]) => acc.replace(re, to), literal ? text.replace(literal, MASK) : text),
  };
};
