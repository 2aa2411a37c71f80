// Ctrl-C for the commands that work on hosts (deploy, reset): the first stops after the steps in
// flight (the signal is aborted; the manager stops there), a second quits at once.
export const withInterrupt = async <T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> => {
  const controller = new AbortController();
  const onInterrupt = (): void => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write('\nstopping after the steps in flight (Ctrl-C again to quit at once)…\n');
    controller.abort();
  };
  process.on('SIGINT', onInterrupt);
  try {
    return await work(controller.signal);
  } finally {
    process.off('SIGINT', onInterrupt);
  }
};

/** Plain lines rather than the redrawn tree: not a terminal, or CI. */
export const plainOutput = (): boolean => !process.stdout.isTTY || process.env.CI === 'true' || process.env.CI === '1';
