// Ctrl-C for the commands that work on hosts or write the PKI (deploy, reset, remove, etcd, certs): the
// first aborts the signal (the work stops where it safely can; `stopping` says what that is), a second
// quits at once.
export const withInterrupt = async <T>(work: (signal: AbortSignal) => Promise<T>, stopping = 'stopping after the steps in flight'): Promise<T> => {
  const controller = new AbortController();
  const onInterrupt = (): void => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write(`\n${stopping} (Ctrl-C again to quit at once)…\n`);
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
