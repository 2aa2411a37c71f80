import { describe, expect, it } from 'vitest';
import { mapLimit } from './semaphore.js';

describe('mapLimit', () => {
  it('keeps the order of the items and runs at most `limit` at once', async () => {
    let active = 0;
    let peak = 0;
    const out = await mapLimit([5, 1, 4, 2, 3], 2, async (n) => {
      peak = Math.max(peak, ++active);
      await new Promise((r) => setTimeout(r, n));
      active--;
      return n * 10;
    });
    expect(out).toEqual([50, 10, 40, 20, 30]);
    expect(peak).toBe(2);
  });
});
