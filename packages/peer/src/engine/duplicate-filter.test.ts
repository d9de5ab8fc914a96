import { describe, expect, it } from 'vitest';
import { DuplicateFilter } from './duplicate-filter.js';

describe('DuplicateFilter', () => {
  it('passes the first copy of each fragment and drops repeats, per channel and variant', () => {
    const filter = new DuplicateFilter();
    expect(filter.isFirstCopy(1, 7, 100, 0)).toBe(true);
    expect(filter.isFirstCopy(1, 7, 100, 0)).toBe(false);
    expect(filter.isFirstCopy(1, 7, 100, 1)).toBe(true); // another fragment of the chunk
    expect(filter.isFirstCopy(1, 7, 101, 0)).toBe(true);
    expect(filter.isFirstCopy(1, 8, 100, 0)).toBe(true); // another variant
    expect(filter.isFirstCopy(2, 7, 100, 0)).toBe(true); // another channel
    expect(filter.isFirstCopy(1, 7, 2 ** 32 - 1, 255)).toBe(true);
    expect(filter.isFirstCopy(1, 7, 2 ** 32 - 1, 255)).toBe(false);
  });

  it('forgets keys older than its window: a repeat that far apart passes', () => {
    const filter = new DuplicateFilter({ windowKeys: 4, windowsPerChannel: 16, windows: 128 });
    for (let s = 0; s < 4; s++) filter.isFirstCopy(1, 0, s, 0);
    expect(filter.isFirstCopy(1, 0, 0, 0)).toBe(false);
    filter.isFirstCopy(1, 0, 4, 0); // pushes 0 out
    expect(filter.isFirstCopy(1, 0, 0, 0)).toBe(true);
    expect(filter.isFirstCopy(1, 0, 3, 0)).toBe(false);
  });

  it('keeps a bounded number of windows per channel and in all, and frees a channel`s when told', () => {
    const filter = new DuplicateFilter({ windowKeys: 4, windowsPerChannel: 2, windows: 3 });
    expect(filter.isFirstCopy(1, 0, 0, 0)).toBe(true);
    expect(filter.isFirstCopy(1, 1, 0, 0)).toBe(true);
    expect(filter.isFirstCopy(1, 2, 0, 0)).toBe(false); // a third variant of channel 1
    expect(filter.isFirstCopy(2, 0, 0, 0)).toBe(true);
    expect(filter.isFirstCopy(3, 0, 0, 0)).toBe(false); // a fourth window in all
    expect(filter.windows).toBe(3);
    filter.forgetChannel(1);
    expect(filter.windows).toBe(1);
    expect([...filter.channels()]).toEqual([2, 3]);
    expect(filter.isFirstCopy(3, 0, 0, 0)).toBe(true);
  });
});
