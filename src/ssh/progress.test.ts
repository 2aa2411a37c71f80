import { describe, expect, it } from 'vitest';
import { throttleProgress } from './progress.js';

describe('upload progress', () => {
  it('reports the start, every 1% or 250 ms of growth, and the end; never the same count twice', () => {
    let clock = 0;
    const seen: number[] = [];
    const progress = throttleProgress((done) => void seen.push(done), { now: () => clock });
    const total = 100 * 32 * 1024; // 100 chunks of 32 KiB: 1% each
    progress(0, total);
    for (let sent = 16 * 1024; sent <= total; sent += 16 * 1024) progress(sent, total); // half-chunks, at once
    expect(seen).toEqual([0, ...Array.from({ length: 100 }, (_, i) => (i + 1) * 32 * 1024)]);

    seen.length = 0;
    const slow = throttleProgress((done) => void seen.push(done), { now: () => clock });
    const huge = 1000 * 1024 * 1024;
    for (let sent = 0; sent <= 8 * 1024 * 1024; sent += 1024 * 1024) {
      slow(sent, huge); // far below 1% each: reported only once 250 ms passed
      clock += 100;
    }
    expect(seen).toEqual([0, 3, 6].map((m) => m * 1024 * 1024));
    slow(huge, huge);
    slow(huge, huge);
    expect(seen.at(-1)).toBe(huge);
    expect(seen.filter((n) => n === huge)).toHaveLength(1);
  });
});
