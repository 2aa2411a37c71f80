// Bounded concurrency, one primitive for the whole program: a counting semaphore (at most `limit` tasks
// run at once, the rest wait in order) and a map over it.
export interface Semaphore {
  run<T>(task: () => Promise<T>): Promise<T>;
  /** Waits for a slot and returns its release, for holders whose work ends in a callback (a write in flight). */
  acquire(): Promise<() => void>;
}

export const createSemaphore = (limit: number): Semaphore => {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`concurrency must be a whole number of at least 1, got ${limit}`);
  let active = 0;
  const waiting: (() => void)[] = [];
  const acquire = async (): Promise<() => void> => {
    if (active >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    else active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = waiting.shift();
      if (next) next();
      else active--;
    };
  };
  return {
    acquire,
    run: async (task) => {
      const release = await acquire();
      try {
        return await task();
      } finally {
        release();
      }
    },
  };
};

/** `fn` over `items`, at most `limit` at once; results in the order of `items`. */
export const mapLimit = <T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> => {
  const pool = createSemaphore(limit);
  return Promise.all(items.map((item) => pool.run(() => fn(item))));
};
