import { encodeCodedPayload } from '@cubecast/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeSpaConfig } from './built-in-configs.js';
import { directSpa } from './testing/built-ins.js';

const be32 = (n: number) => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
const tagged = (input: number, seq: number, payload: Uint8Array) => new Uint8Array([input, 0, 0, 0, ...be32(seq), ...payload]);
const bytesOf = (out: Uint8Array | number) => {
  if (typeof out === 'number') throw new Error(`status ${out}`);
  return out;
};

describe('forward', () => {
  it('returns its input unchanged', () => {
    const spa = directSpa('forward');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5000 }), (chunk) => {
        expect([...bytesOf(spa.process(chunk))]).toEqual([...chunk]);
      }),
    );
  });
});

describe('thin', () => {
  // A video payload (version 2) of temporal layer `layer`.
  const frame = (layer: number) => new Uint8Array([2, 0, 0, 64, 0, 48, layer, 0, ...new Array(16).fill(0), 0x9d, layer]);

  it('keeps the layers up to its configured one and drops the rest, unchanged', () => {
    const layers = Array.from({ length: 120 }, (_, i) => [0, 2, 1, 2][i % 4]!);
    for (const [maxLayer, share] of [[0, 1 / 4], [1, 1 / 2], [2, 1]] as const) {
      const spa = directSpa('thin', encodeSpaConfig('thin', { maxLayer }));
      const kept = layers.filter((layer) => {
        const out = spa.process(frame(layer));
        if (out === -1) return false;
        expect([...bytesOf(out)]).toEqual([...frame(layer)]);
        return true;
      });
      expect(kept.length).toBe(layers.length * share);
      expect(Math.max(...kept)).toBe(maxLayer);
    }
  });

  it('refuses what is not a version-2 video payload', () => {
    const spa = directSpa('thin');
    expect(spa.process(new Uint8Array(10))).toBe(-2);
    expect(spa.process(new Uint8Array(30).fill(1))).toBe(-2);
  });
});

describe('pixels', () => {
  const chroma = (n: number) => (n + 1) >> 1;
  const frameArb = fc
    .record({ width: fc.integer({ min: 1, max: 40 }), height: fc.integer({ min: 1, max: 30 }) })
    .chain(({ width, height }) =>
      fc.uint8Array({ minLength: width * height + 2 * chroma(width) * chroma(height), maxLength: width * height + 2 * chroma(width) * chroma(height) }).map((planes) => ({ width, height, planes })),
    );
  const record = (width: number, height: number, planes: Uint8Array) => {
    const out = new Uint8Array(16 + planes.byteLength);
    const view = new DataView(out.buffer);
    view.setUint32(0, width, true);
    view.setUint32(4, height, true);
    view.setFloat64(8, 1234.5, true); // the timestamp, carried through
    out.set(planes, 16);
    return out;
  };
  // The 2x2 box filter, written plainly.
  const halve = (plane: Uint8Array, width: number, height: number) => {
    const w = chroma(width);
    const h = chroma(height);
    const out = new Uint8Array(w * h);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const at = (yy: number, xx: number) => plane[Math.min(yy, height - 1) * width + Math.min(xx, width - 1)]!;
        out[y * w + x] = (at(2 * y, 2 * x) + at(2 * y, 2 * x + 1) + at(2 * y + 1, 2 * x) + at(2 * y + 1, 2 * x + 1) + 2) >> 2;
      }
    }
    return out;
  };

  it('grayscale keeps luma and sets chroma to 128', () => {
    const spa = directSpa('pixels', encodeSpaConfig('pixels', { grayscale: true, halve: false }));
    fc.assert(
      fc.property(frameArb, ({ width, height, planes }) => {
        const out = bytesOf(spa.process(record(width, height, planes)));
        expect([...out]).toEqual([...record(width, height, new Uint8Array([...planes.subarray(0, width * height), ...new Array(2 * chroma(width) * chroma(height)).fill(128)]))]);
      }),
    );
  });

  it('halving averages 2x2 blocks of every plane', () => {
    const spa = directSpa('pixels', encodeSpaConfig('pixels', { grayscale: false, halve: true }));
    fc.assert(
      fc.property(frameArb, ({ width, height, planes }) => {
        const y = planes.subarray(0, width * height);
        const c = chroma(width) * chroma(height);
        const u = planes.subarray(width * height, width * height + c);
        const v = planes.subarray(width * height + c);
        const expected = [...halve(y, width, height), ...halve(u, chroma(width), chroma(height)), ...halve(v, chroma(width), chroma(height))];
        expect([...bytesOf(spa.process(record(width, height, planes)))]).toEqual([...record(chroma(width), chroma(height), new Uint8Array(expected))]);
      }),
    );
  });

  it('refuses a record whose size does not match its dimensions', () => {
    const spa = directSpa('pixels');
    expect(spa.process(record(4, 4, new Uint8Array(10)))).toBe(-2);
    expect(spa.process(new Uint8Array(4))).toBe(-2);
  });
});

describe('sensor', () => {
  const payload = (readings: [number, number][]) => {
    const out = new Uint8Array(4 + 16 * readings.length);
    const view = new DataView(out.buffer);
    view.setUint8(0, 1);
    view.setUint16(2, readings.length);
    readings.forEach(([time, value], i) => {
      view.setFloat64(4 + 16 * i, time);
      view.setFloat64(12 + 16 * i, value);
    });
    return out;
  };
  const readingsArb = fc.array(fc.tuple(fc.double({ min: 0, max: 1e12, noNaN: true }), fc.double({ min: -1e6, max: 1e6, noNaN: true })), { minLength: 1, maxLength: 50 });

  it('threshold keeps the readings at or above it and drops a chunk left empty', () => {
    fc.assert(
      fc.property(readingsArb, fc.double({ min: -1e6, max: 1e6, noNaN: true }), (readings, threshold) => {
        const spa = directSpa('sensor', encodeSpaConfig('sensor', { mode: 'threshold', threshold }));
        const kept = readings.filter(([, value]) => value >= threshold);
        const out = spa.process(payload(readings));
        if (kept.length === 0) expect(out).toBe(-1);
        else expect([...bytesOf(out)]).toEqual([...payload(kept)]);
      }),
    );
  });

  it('moving average replaces each value by the mean of the last `window`, across chunks', () => {
    fc.assert(
      fc.property(fc.array(readingsArb, { minLength: 1, maxLength: 5 }), fc.integer({ min: 1, max: 20 }), (chunks, window) => {
        const spa = directSpa('sensor', encodeSpaConfig('sensor', { mode: 'average', window }));
        const history: number[] = [];
        for (const readings of chunks) {
          const expected = readings.map(([time, value]): [number, number] => {
            history.push(value);
            const last = history.slice(-window);
            return [time, last.reduce((a, b) => a + b, 0) / last.length];
          });
          const out = new DataView(bytesOf(spa.process(payload(readings))).buffer);
          expected.forEach(([time, mean], i) => {
            expect(out.getFloat64(4 + 16 * i)).toBe(time);
            expect(out.getFloat64(12 + 16 * i)).toBeCloseTo(mean, 6);
          });
        }
      }),
    );
  });
});

/** GF(2^8) multiplication with the polynomial 0x11d, written plainly (shift and add). */
function gfMul(x: number, y: number): number {
  let product = 0;
  for (; y > 0; y >>= 1) {
    if (y & 1) product ^= x;
    x = x & 0x80 ? ((x << 1) ^ 0x11d) & 0xff : x << 1;
  }
  return product;
}

describe('coding (GF(2^8))', () => {
  it('a receiver with either plain stream and the coded one recovers the other, byte for byte', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.uint8Array({ maxLength: 3000 }), fc.uint8Array({ maxLength: 3000 })), { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 0, max: 255 }),
        (pairs, seed) => {
          const encoder = directSpa('coding', encodeSpaConfig('coding', { mode: 'encode', seed }));
          const hasA = directSpa('coding', encodeSpaConfig('coding', { mode: 'decode', plain: 'a' }));
          const hasB = directSpa('coding', encodeSpaConfig('coding', { mode: 'decode', plain: 'b' }));
          pairs.forEach(([a, b], i) => {
            expect(encoder.process(tagged(0, 100 + i, a))).toBe(-1); // held until B's partner comes
            const coded = bytesOf(encoder.process(tagged(1, 500 + i, b)));
            expect(coded.byteLength).toBe(20 + Math.max(a.byteLength, b.byteLength));
            // The body is c1·A + c2·B over GF(2^8), by the header's coefficients (never zero).
            const [c1, c2] = [coded[1]!, coded[2]!];
            expect(c1 * c2).not.toBe(0);
            const at = (x: Uint8Array, i: number) => x[i] ?? 0;
            expect([...coded.subarray(20)]).toEqual(Array.from({ length: coded.byteLength - 20 }, (_, i) => gfMul(c1, at(a, i)) ^ gfMul(c2, at(b, i))));
            // The engine's algorithms code in TypeScript (protocol's coded payload): the same bytes.
            expect(coded).toEqual(encodeCodedPayload({ sequence: 100 + i, payload: a }, { sequence: 500 + i, payload: b }, c1, c2));
            expect(hasA.process(tagged(0, 100 + i, a))).toBe(-1);
            expect([...bytesOf(hasA.process(tagged(1, 0, coded)))]).toEqual([...tagged(1, 500 + i, b)]);
            // The coded chunk may come first: the decoder holds it until the plain one arrives.
            expect(hasB.process(tagged(1, 0, coded))).toBe(-1);
            expect([...bytesOf(hasB.process(tagged(0, 500 + i, b)))]).toEqual([...tagged(0, 100 + i, a)]);
          });
        },
      ),
      { numRuns: 40 },
    );
  });

  it('refuses a coded chunk whose lengths do not match its body', () => {
    const decoder = directSpa('coding', encodeSpaConfig('coding', { mode: 'decode', plain: 'a' }));
    const coded = new Uint8Array([1, 3, 5, 0, ...be32(1), ...be32(2), ...be32(10), ...be32(10), 1, 2, 3]);
    expect(decoder.process(tagged(1, 0, coded))).toBe(-2);
  });
});

describe('split and merge (hold)', () => {
  it('merge restores the order of chunks split across two paths, whatever their interleaving', () => {
    fc.assert(
      // The interleaving is drawn by fast-check itself, one choice per step, so it shrinks too.
      fc.property(fc.array(fc.uint8Array({ minLength: 1, maxLength: 200 }), { minLength: 1, maxLength: 60 }), fc.array(fc.boolean(), { minLength: 60, maxLength: 60 }), (chunks, leads) => {
        const split = directSpa('split');
        const merge = directSpa('merge');
        const records = chunks.map((chunk, i) => {
          const out = bytesOf(split.process(chunk));
          expect(out[0]).toBe(i % 2);
          return out;
        });
        // Each path keeps its own order; the two interleave arbitrarily (one path runs ahead).
        const paths = [records.filter((_, i) => i % 2 === 0), records.filter((_, i) => i % 2 === 1)];
        const merged: number[][] = [];
        for (let step = 0; paths[0]!.length + paths[1]!.length > 0; step++) {
          const lead = paths[0]!.length === 0 ? 1 : paths[1]!.length === 0 ? 0 : Number(leads[step]);
          // A path may run at most 7 chunks ahead of the other (within merge's window).
          const other = paths[1 - lead]!;
          const ahead = (paths[lead]![0] ? new DataView(paths[lead]![0]!.buffer).getUint32(4) : 0) - (other[0] ? new DataView(other[0]!.buffer).getUint32(4) : 0);
          const from = other.length > 0 && ahead > 14 ? 1 - lead : lead;
          let out = merge.process(paths[from]!.shift()!);
          while (typeof out !== 'number') {
            merged.push([...out]);
            out = merge.drain();
          }
        }
        expect(merged).toEqual(chunks.map((c) => [...c]));
      }),
    );
  });

  it('merge gives up on a lost chunk once its window fills, and goes on in order', () => {
    const split = directSpa('split');
    const merge = directSpa('merge');
    const out: number[] = [];
    for (let i = 0; i < 40; i++) {
      const record = bytesOf(split.process(new Uint8Array([i])));
      if (i === 5) continue; // lost on its path
      for (let r = merge.process(record); typeof r !== 'number'; r = merge.drain()) out.push(r[0]!);
    }
    expect(out).toEqual([...Array(40).keys()].filter((i) => i !== 5));
  });

  it('merge starts again with a split that started again (numbering from 0), dropping only what is a window or less late', () => {
    const merge = directSpa('merge');
    const record = (seq: number, byte: number) => Uint8Array.from([seq & 1, 0, 0, 0, 0, 0, 0, seq, byte]);
    const out: number[] = [];
    const push = (r: Uint8Array) => {
      for (let o = merge.process(r); typeof o !== 'number'; o = merge.drain()) out.push(...o);
    };
    for (let seq = 0; seq < 40; seq++) push(record(seq, seq));
    push(record(30, 99)); // late, within a window: dropped
    push(record(20, 98)); // a path lagging past a window: dropped too
    for (let seq = 0; seq < 5; seq++) push(record(seq, 100 + seq)); // the split restarted
    expect(out).toEqual([...Array(40).keys(), 100, 101, 102, 103, 104]);
  });

  it('merge passes an empty record\'s place at once, arriving in order or early, and never outputs it', () => {
    const split = directSpa('split');
    const merge = directSpa('merge');
    const records = Array.from({ length: 8 }, (_, i) => bytesOf(split.process(new Uint8Array([i]))));
    // 1 and 5 were dropped on their paths: only their tags come.
    const empty = (i: number) => records[i]!.subarray(0, 8);
    const calls = (record: Uint8Array) => {
      const results = [merge.process(record)];
      while (typeof results.at(-1) !== 'number') results.push(merge.drain());
      return results.map((r) => (typeof r === 'number' ? r : [...r]));
    };
    expect(calls(records[0]!)).toEqual([[0], -1]);
    expect(calls(records[2]!)).toEqual([-1]);
    expect(calls(records[3]!)).toEqual([-1]);
    // 1's place passed: what waited behind it comes out at once, from this very call.
    expect(calls(empty(1))).toEqual([[2], [3], -1]);
    expect(calls(empty(5))).toEqual([-1]);
    expect(calls(records[4]!)).toEqual([[4], -1]);
    expect(calls(records[6]!)).toEqual([[6], -1]);
  });
});
