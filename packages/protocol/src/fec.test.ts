import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeRepairRows, encodeRepairs, FEC_BLOCK_SOURCES, FEC_MAX_REPAIRS, recoverSources, repairCount } from './fec.js';

const block = fc
  .record({ k: fc.integer({ min: 1, max: FEC_BLOCK_SOURCES }), m: fc.integer({ min: 1, max: 12 }), width: fc.integer({ min: 1, max: 64 }) })
  .chain(({ k, m, width }) =>
    fc.record({
      // The last source may be short, as a chunk's last fragment is.
      sources: fc.tuple(fc.array(fc.uint8Array({ minLength: width, maxLength: width }), { minLength: k - 1, maxLength: k - 1 }), fc.uint8Array({ minLength: 1, maxLength: width })).map(([full, last]) => [...full, last]),
      m: fc.constant(m),
      lost: fc.array(fc.boolean(), { minLength: k + m, maxLength: k + m }),
    }),
  );

describe('FEC (Reed-Solomon over GF(2^8), Cauchy)', () => {
  it('rebuilds any missing sources from as many repairs, whichever were lost', () => {
    fc.assert(
      fc.property(block, ({ sources, m, lost }) => {
        const k = sources.length;
        const repairs = encodeRepairs(sources, m);
        const width = Math.max(...sources.map((s) => s.length));
        const received = sources.map((s, i) => (lost[i] ? undefined : s));
        const arrived = new Map(repairs.flatMap((r, row) => (lost[k + row] ? [] : [[row, r] as const])));
        const missing = received.filter((s) => s === undefined).length;
        const rebuilt = recoverSources(received, arrived);
        if (missing > arrived.size) {
          expect(rebuilt).toBeUndefined();
          return;
        }
        expect([...rebuilt!.keys()].sort((a, b) => a - b)).toEqual(received.flatMap((s, i) => (s ? [] : [i])));
        for (const [index, source] of rebuilt!) {
          const padded = new Uint8Array(width);
          padded.set(sources[index]!);
          expect(source).toEqual(padded);
        }
      }),
    );
  });

  it('any rows, not only the first m, rebuild as many missing sources: a next hop that asks for more gets rows it lacks', () => {
    fc.assert(
      fc.property(
        block,
        fc.uniqueArray(fc.integer({ min: 0, max: FEC_MAX_REPAIRS - 1 }), { minLength: 1, maxLength: FEC_MAX_REPAIRS }),
        ({ sources }, rows) => {
          const repairs = encodeRepairRows(sources, rows);
          // Each row is the row encodeRepairs makes at that position.
          expect(repairs.at(-1)).toEqual(encodeRepairs(sources, rows.at(-1)! + 1).at(-1));
          const missing = Math.min(rows.length, sources.length);
          const received = sources.map((s, i) => (i < missing ? undefined : s));
          const rebuilt = recoverSources(received, new Map(rows.map((row, i) => [row, repairs[i]!])));
          expect(rebuilt?.size).toBe(missing);
          for (const [index, source] of rebuilt!) expect(source.subarray(0, sources[index]!.length)).toEqual(sources[index]);
        },
      ),
    );
    expect(() => encodeRepairRows([new Uint8Array(1)], [FEC_MAX_REPAIRS])).toThrow(RangeError);
    expect(() => encodeRepairRows([new Uint8Array(1)], [-1])).toThrow(RangeError);
  });

  it('matches the golden repairs in docs/protocol.md (computed by bitwise GF(2^8) arithmetic, not these tables)', () => {
    const repairs = encodeRepairs([Uint8Array.of(0x01, 0x10, 0xff), Uint8Array.of(0x02, 0x20)], 2);
    expect(repairs.map((r) => Buffer.from(r).toString('hex'))).toEqual(['ab62d7', '35774a']);
  });

  it('a repair is not a copy of any source once a block has two (it mixes them)', () => {
    const [repair] = encodeRepairs([Uint8Array.of(1, 2), Uint8Array.of(3, 4)], 1);
    expect(repair).not.toEqual(Uint8Array.of(1, 2));
    expect(repair).not.toEqual(Uint8Array.of(3, 4));
    expect(recoverSources([undefined, Uint8Array.of(3, 4)], new Map([[0, repair!]]))!.get(0)).toEqual(Uint8Array.of(1, 2));
  });

  it('refuses blocks and repair counts outside its limits', () => {
    expect(() => encodeRepairs([], 1)).toThrow(RangeError);
    expect(() => encodeRepairs(Array.from({ length: FEC_BLOCK_SOURCES + 1 }, () => new Uint8Array(1)), 1)).toThrow(RangeError);
    expect(() => encodeRepairs([new Uint8Array(1)], FEC_MAX_REPAIRS + 1)).toThrow(RangeError);
    expect(() => recoverSources([undefined, undefined], new Map([[0, new Uint8Array(2)], [1, new Uint8Array(3)]]))).toThrow(RangeError);
  });

  it('sizes repairs to the loss: none without loss, more with more, enough to meet the target', () => {
    expect(repairCount(11, 0)).toBe(0);
    expect(repairCount(11, 0.02)).toBe(2);
    expect(repairCount(11, 0.1)).toBe(5);
    expect(repairCount(1, 0.1)).toBe(2);
    expect(repairCount(32, 0.5)).toBe(FEC_MAX_REPAIRS);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 32 }), fc.double({ min: 0.001, max: 0.3, noNaN: true }), (k, p) => {
        const m = repairCount(k, p);
        expect(repairCount(k, Math.min(0.5, p * 1.5))).toBeGreaterThanOrEqual(m);
        // Monte-Carlo-free check of the target: the binomial tail at m, by direct sum.
        let tail = 0;
        const n = k + m;
        for (let x = m + 1; x <= n; x++) tail += choose(n, x) * p ** x * (1 - p) ** (n - x);
        if (m < FEC_MAX_REPAIRS) expect(tail).toBeLessThanOrEqual(0.005 + 1e-12);
      }),
    );
  });
});

function choose(n: number, x: number): number {
  let r = 1;
  for (let i = 1; i <= x; i++) r = (r * (n - x + i)) / i;
  return r;
}
