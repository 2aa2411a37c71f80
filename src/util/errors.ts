// Errors are values with context, turned into one clear message at the CLI edge.
import { getSystemErrorMap } from 'node:util';

export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

export class KubeinstallError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_FAILED,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad command-line usage or an invalid inventory: exit code 2. */
export class UsageError extends KubeinstallError {
  constructor(message: string) {
    super(message, EXIT_USAGE);
  }
}

export interface Problem {
  readonly severity: 'error' | 'warning';
  readonly file: string;
  /** Field path such as `hosts[2].address`; empty for the whole document. */
  readonly path: string;
  /** 1-based line, where the YAML parser can tell. */
  readonly line?: number;
  readonly column?: number;
  readonly message: string;
}

export const formatProblem = (p: Problem): string => {
  const where = [p.file + (p.line ? `:${p.line}${p.column ? `:${p.column}` : ''}` : ''), p.path].filter(Boolean).join(': ');
  return `${where}: ${p.severity}: ${p.message}`;
};

/** Every problem found in an inventory, not only the first. */
export class InventoryError extends KubeinstallError {
  constructor(readonly problems: readonly Problem[]) {
    const errors = problems.filter((p) => p.severity === 'error');
    super(
      `invalid inventory (${errors.length} error${errors.length === 1 ? '' : 's'}):\n${problems.map((p) => `  ${formatProblem(p)}`).join('\n')}`,
      EXIT_USAGE,
    );
  }
}

/** `EROFS (read-only file system)`: a system error's code and meaning, without the path Node appends. */
export const systemReason = (err: unknown): string => {
  const e = err as NodeJS.ErrnoException;
  if (!e?.code) return err instanceof Error ? err.message : String(err);
  const meaning = e.errno === undefined ? undefined : getSystemErrorMap().get(e.errno)?.[1];
  return meaning ? `${e.code} (${meaning})` : e.code;
};
