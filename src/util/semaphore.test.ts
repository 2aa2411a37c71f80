import { describe, expect, it } from 'vitest';
import { createSemaphore, mapLimit } from './semaphore.js';

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

describe('createSemaphore', () => {
  it('hands out at most `limit` slots until released, in order, and a second release of one slot frees nothing', async () => {
    const pool = createSemaphore(2);
    const a = await pool.acquire();
    await pool.acquire();
    const order: string[] = [];
    const c = pool.acquire().then((release) => (order.push('c'), release));
    const d = pool.acquire().then((release) => (order.push('d'), release));
    await new Promise((r) => setTimeout(r, 5));
    expect(order).toEqual([]);
    a();
    a();
    await c;
    await new Promise((r) => setTimeout(r, 5));
    expect(order).toEqual(['c']);
    (await c)();
    await d;
    expect(order).toEqual(['c', 'd']);
  });
});
