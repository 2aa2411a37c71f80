// A counting semaphore: at most `limit` tasks run at once, the rest wait in order.
export interface Semaphore {
  run<T>(task: () => Promise<T>): Promise<T>;
}

export const createSemaphore = (limit: number): Semaphore => {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`concurrency must be a whole number of at least 1, got ${limit}`);
  let active = 0;
  const waiting: (() => void)[] = [];
  return {
    run: async (task) => {
      if (active >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
      else active++;
      try {
        return await task();
      } finally {
        const next = waiting.shift();
        if (next) next();
        else active--;
      }
    },
  };
};
