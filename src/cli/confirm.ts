// The one gate before anything destructive (restore, remove, reset): `--yes`, or a typed "yes" at a
// terminal; with neither a terminal nor `--yes` the command refuses (exit 2) rather than guess.
import { createInterface } from 'node:readline/promises';
import type { Readable, Writable } from 'node:stream';
import { KubeinstallError, UsageError } from '../util/errors.js';

export interface ConfirmOptions {
  /** `--yes` was given. */
  readonly yes: boolean;
  /** The command, for the refusal message (e.g. `kubeinstall reset`). */
  readonly command: string;
  /** What will be stopped, removed or overwritten, one line each: shown before the question. */
  readonly consequences: readonly string[];
  readonly input?: Readable & { isTTY?: boolean };
  readonly output?: Writable;
}

export const CONFIRM_WORD = 'yes';

/** Resolves when the operator agreed; throws UsageError (exit 2) without a terminal and without `--yes`,
 * KubeinstallError (exit 1) when the operator answered anything but "yes". */
export const confirmDestructive = async ({ yes, command, consequences, input = process.stdin, output = process.stderr }: ConfirmOptions): Promise<void> => {
  const listed = consequences.map((c) => `  - ${c}`).join('\n');
  if (yes) return;
  if (!input.isTTY) throw new UsageError(`${command} would:\n${listed}\nit does this only with --yes when not run at a terminal`);
  output.write(`${command} will:\n${listed}\n`);
  const rl = createInterface({ input, output, terminal: false });
  try {
    const answer = await rl.question(`Type "${CONFIRM_WORD}" to go on: `);
    if (answer.trim() !== CONFIRM_WORD) throw new KubeinstallError(`${command}: not confirmed, nothing changed`);
  } finally {
    rl.close();
  }
};
