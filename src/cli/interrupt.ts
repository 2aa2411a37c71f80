// Ctrl-C for commands that work on the hosts: the first stops after the steps in flight (the run then
// reports what it left and how a re-run resumes), a second quits at once.
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

/** The task tree needs a terminal that redraws; elsewhere (a pipe, CI) one plain line per event. */
export const plainOutput = (): boolean => !process.stdout.isTTY || process.env.CI === 'true' || process.env.CI === '1';
