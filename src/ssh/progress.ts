// Upload progress for people: SFTP acknowledges every 255 KiB write, hundreds a second on a fast link, so
// the caller hears of the start, of every 1% or 250 ms of growth, whichever comes first, and of the end.
export type Progress = (done: number, total: number) => void;

export interface ThrottleOptions {
  readonly intervalMs?: number;
  /** Growth, as a fraction of the total, worth reporting however soon. */
  readonly fraction?: number;
  readonly now?: () => number;
}

export const throttleProgress = (report: Progress, { intervalMs = 250, fraction = 0.01, now = Date.now }: ThrottleOptions = {}): Progress => {
  let lastDone = -1;
  let lastAt = 0;
  return (done, total) => {
    if (done <= lastDone) return;
    const at = now();
    const due = lastDone < 0 || done >= total || at - lastAt >= intervalMs || done - lastDone >= total * fraction;
    if (!due) return;
    lastDone = done;
    lastAt = at;
    report(done, total);
  };
};
