import { describe, expect, it } from 'vitest';
import { LeakyBufferedAmount } from './buffered-amount.js';

describe('LeakyBufferedAmount', () => {
  it('reads a backlog as it is, and what a channel never drains below, after a while, as leaked', () => {
    let amount = 0;
    let now = 0;
    const buffered = new LeakyBufferedAmount(() => amount, 0);
    amount = 5000; // a burst
    expect(buffered.backlog(now)).toBe(5000 - 0);
    now = 10;
    amount = 47; // drained, but for one abandoned ping
    expect(buffered.backlog(now)).toBe(47);
    now = 1500; // a new window: the last one's floor (0) still counts
    amount = 3000;
    expect(buffered.backlog(now)).toBe(3000);
    now = 1600;
    amount = 47;
    expect(buffered.backlog(now)).toBe(47);
    now = 2600; // the 0 has left both windows: 47 is the floor now
    amount = 5047;
    expect(buffered.backlog(now)).toBe(5000);
  });

  it('a backlog that never drains reads as smaller once it has lasted two windows', () => {
    let amount = 100_000;
    let now = 0;
    const buffered = new LeakyBufferedAmount(() => amount, 0, 1000);
    expect(buffered.backlog(now)).toBe(100_000); // nothing had leaked when it opened
    now = 1000;
    amount = 120_000;
    expect(buffered.backlog(now)).toBe(120_000);
    now = 2000;
    amount = 140_000;
    expect(buffered.backlog(now)).toBe(20_000); // 120 000 all the last window: taken for a leak
  });
});
