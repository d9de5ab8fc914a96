import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameOrder } from './frame-order.js';

const c = (sequence: number) => ({ sequence });
const seqs = (released: { sequence: number }[]) => released.map((r) => r.sequence);

describe('FrameOrder', () => {
  it('releases in order, holds what overtook a missing chunk, and lets it go when the missing one comes', () => {
    const order = new FrameOrder(100);
    expect(seqs(order.push(c(5), 0))).toEqual([5]);
    expect(seqs(order.push(c(7), 10))).toEqual([]);
    expect(seqs(order.push(c(8), 20))).toEqual([]);
    expect(order.deadline).toBe(110);
    expect(seqs(order.push(c(6), 40))).toEqual([6, 7, 8]);
    expect(order.deadline).toBeUndefined();
    // Old and repeated chunks go.
    expect(seqs(order.push(c(6), 50))).toEqual([]);
    expect(seqs(order.push(c(8), 50))).toEqual([]);
  });

  it('gives up on a missing chunk once the wait since the gap opened runs out, then on later gaps at once', () => {
    const order = new FrameOrder(100);
    order.push(c(1), 0);
    order.push(c(3), 10); // 2 missing since 10
    order.push(c(6), 50); // 4 and 5 missing too
    expect(seqs(order.expire(109))).toEqual([]);
    expect(seqs(order.expire(110))).toEqual([3, 6]);
    expect(order.deadline).toBeUndefined();
    // 2 comes after all: too late.
    expect(seqs(order.push(c(2), 120))).toEqual([]);
    expect(seqs(order.push(c(7), 130))).toEqual([7]);
  });

  it('holds a bounded number: past it the oldest gap is given up on at once', () => {
    const order = new FrameOrder(1000);
    order.push(c(0), 0);
    const released = [];
    for (let s = 2; s <= 34; s++) released.push(...order.push(c(s), s));
    expect(seqs(released)).toEqual([2, ...Array.from({ length: 32 }, (_, i) => i + 3)]);
  });

  it('wraps around the 32-bit sequence', () => {
    const order = new FrameOrder(100);
    order.push(c(0xfffffffe), 0);
    expect(seqs(order.push(c(0), 1))).toEqual([]);
    expect(seqs(order.push(c(0xffffffff), 2))).toEqual([0xffffffff, 0]);
    order.reset();
    expect(seqs(order.push(c(9), 3))).toEqual([9]);
  });

  it('for any arrival order and timing: releases each chunk at most once, in increasing sequence, none held past the wait', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 30 })), { maxLength: 80 }), (arrivals) => {
        const order = new FrameOrder(50);
        const out: { sequence: number }[] = [];
        let now = 0;
        for (const [sequence, wait] of arrivals) {
          now += wait;
          out.push(...order.expire(now), ...order.push(c(sequence), now));
          if (order.deadline !== undefined) expect(order.deadline).toBeGreaterThan(now);
        }
        out.push(...order.expire(now + 50));
        expect(order.deadline).toBeUndefined();
        for (let i = 1; i < out.length; i++) expect(out[i]!.sequence).toBeGreaterThan(out[i - 1]!.sequence);
      }),
    );
  });
});
