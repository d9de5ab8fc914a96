import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { messageHeader } from '../testing/sim-network.js';
import { Reassembler } from './reassembly.js';

/** A chunk's fragments: `count` parts of `size` bytes, each filled with its chunk and index. */
function fragments(sequence: number, count: number, size = 10) {
  return Array.from({ length: count }, (_, fragmentIndex) => ({
    header: messageHeader({ sequence, fragmentIndex, fragmentCount: count, latencyUs: 1000 * (fragmentIndex + 1), hops: fragmentIndex }),
    payload: new Uint8Array(size).fill((sequence * 16 + fragmentIndex) & 0xff),
  }));
}

const whole = (sequence: number, count: number, size = 10) => new Uint8Array(fragments(sequence, count, size).flatMap((f) => [...f.payload]));

describe('Reassembler', () => {
  it('puts fragments together in index order whatever order they came in; the chunk is as late as its last fragment', () => {
    const r = new Reassembler();
    const [a, b, c] = fragments(7, 3);
    expect(r.add(c!.header, c!.payload, 0)).toBeUndefined();
    expect(r.add(a!.header, a!.payload, 0)).toBeUndefined();
    const chunk = r.add(b!.header, b!.payload, 0)!;
    expect(chunk).toMatchObject({ sequence: 7, latencyUs: 3000, hops: 2 });
    expect(chunk.payload).toEqual(whole(7, 3));
    expect(r.size).toBe(0);
  });

  it('counts a repeated fragment once: a chunk is never delivered with a part missing', () => {
    const r = new Reassembler();
    const [a, b, c] = fragments(1, 3);
    r.add(a!.header, a!.payload, 0);
    expect(r.add(a!.header, a!.payload, 0)).toBeUndefined();
    expect(r.add(b!.header, b!.payload, 0)).toBeUndefined();
    expect(r.add(c!.header, c!.payload, 0)!.payload).toEqual(whole(1, 3));
  });

  it('ignores a fragment whose count disagrees with the chunk it claims to belong to', () => {
    const r = new Reassembler();
    const [a, b] = fragments(2, 2);
    r.add(a!.header, a!.payload, 0);
    const liar = fragments(2, 3)[1]!;
    expect(r.add(liar.header, liar.payload, 0)).toBeUndefined();
    expect(r.add(b!.header, b!.payload, 0)!.payload).toEqual(whole(2, 2));
  });

  it('gives up on a chunk that lost a fragment after 3 s, and a late fragment does not revive its old parts', () => {
    const r = new Reassembler();
    const [a, b, c] = fragments(3, 3);
    r.add(a!.header, a!.payload, 0);
    r.add(b!.header, b!.payload, 0);
    r.expire(3000);
    expect(r.size).toBe(1);
    r.expire(3001);
    expect(r.size).toBe(0);
    expect(r.add(c!.header, c!.payload, 3002)).toBeUndefined();
    expect(r.size).toBe(1);
  });

  it('holds at most 64 incomplete chunks, dropping the oldest first', () => {
    const r = new Reassembler();
    for (let sequence = 0; sequence < 100; sequence++) {
      const first = fragments(sequence, 2)[0]!;
      r.add(first.header, first.payload, sequence);
    }
    expect(r.size).toBe(64);
    // The newest are kept: their second fragments complete them; the oldest are gone.
    const newest = fragments(99, 2)[1]!;
    expect(r.add(newest.header, newest.payload, 100)?.payload).toEqual(whole(99, 2));
    const oldest = fragments(0, 2)[1]!;
    expect(r.add(oldest.header, oldest.payload, 100)).toBeUndefined();
  });

  it('keeps chunks of different channels and variants apart', () => {
    const r = new Reassembler();
    const [a, b] = fragments(5, 2);
    r.add(a!.header, a!.payload, 0);
    expect(r.add({ ...b!.header, channel: 2 }, b!.payload, 0)).toBeUndefined();
    expect(r.add({ ...b!.header, destination: 1234 }, b!.payload, 0)).toBeUndefined();
    expect(r.add(b!.header, b!.payload, 0)!.payload).toEqual(whole(5, 2));
  });

  it('delivers every chunk whole, never a mix of two, from fragments of many chunks shuffled and repeated', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        fc.nat(),
        (counts, repeats, shuffleSeed) => {
          const all = counts.flatMap((count, sequence) => fragments(sequence, count, 1 + (sequence % 5)));
          for (const r of repeats) all.push(all[r % all.length]!);
          // Fisher-Yates with fast-check's seed: any order of arrival.
          let state = shuffleSeed;
          for (let i = all.length - 1; i > 0; i--) {
            state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
            const j = state % (i + 1);
            [all[i], all[j]] = [all[j]!, all[i]!];
          }
          const r = new Reassembler();
          const delivered = all.flatMap((f) => r.add(f.header, f.payload, 0) ?? []);
          // A repeat after a chunk completed may complete it again: the engine's duplicate window drops that.
          expect([...new Set(delivered.map((c) => c.sequence))].sort((a, b) => a - b)).toEqual(counts.map((_, i) => i));
          for (const chunk of delivered) expect(chunk.payload).toEqual(whole(chunk.sequence, counts[chunk.sequence]!, 1 + (chunk.sequence % 5)));
        },
      ),
    );
  });
});
