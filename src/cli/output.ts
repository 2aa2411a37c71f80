// Terminal output: colour honours --no-color and NO_COLOR; stack traces only with --debug.
import chalk from 'chalk';
import { formatProblem, InventoryError, KubeinstallError, EXIT_FAILED, type Problem } from '../util/errors.js';

export const configureColor = (enabled: boolean): void => {
  if (!enabled || (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '')) chalk.level = 0;
};

export const printWarnings = (warnings: readonly Problem[]): void => {
  for (const w of warnings) process.stderr.write(`${chalk.yellow(formatProblem(w))}\n`);
};

/** Turns any error into one clear message and an exit code. */
export const reportError = (err: unknown, debug: boolean): number => {
  if (err instanceof InventoryError) {
    for (const p of err.problems) {
      process.stderr.write(`${(p.severity === 'error' ? chalk.red : chalk.yellow)(formatProblem(p))}\n`);
    }
  } else {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`${chalk.red(`error: ${message}`)}\n`);
  }
  if (debug && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  return err instanceof KubeinstallError ? err.exitCode : EXIT_FAILED;
};
