import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from './errors.js';
import { mRegion, regionTable } from './m-region.js';

/** Every (k, n) with k^n >= m, up to a size no winner can reach, ordered by DESIGN.md's rule. */
function bruteForce(m: number): { k: number; n: number } {
  let best: { k: number; n: number; A: number; M: number } | undefined;
  for (let k = 2; k <= 36; k++) {
    for (let n = 1; k ** n <= 64 * m + 64; n++) {
      const M = k ** n;
      if (M < m) continue;
      const A = (n * Math.floor((k * k) / 4)) / k;
      const wins =
        !best ||
        A < best.A - 1e-12 ||
        (Math.abs(A - best.A) <= 1e-12 && (M > best.M || (M === best.M && k < best.k)));
      if (wins) best = { k, n, A, M };
    }
  }
  return { k: best!.k, n: best!.n };
}

describe('mRegion', () => {
  it('answers the issue example for 65536 hosts', () => {
    expect(mRegion(65536)).toEqual({ k: 3, n: 11, M: 177147, avgHops: 7.333333333333333, diameter: 11, degree: 22 });
  });

  it('equals a brute-force search for every m <= 20000', () => {
    for (let m = 1; m <= 20000; m++) {
      const { k, n } = mRegion(m);
      const expected = bruteForce(m);
      if (k !== expected.k || n !== expected.n) expect({ m, k, n }).toEqual({ m, ...expected });
    }
  });

  it('breaks exact ties towards the larger M, then the smaller k', () => {
    // m = 4: (2,2) and (4,1) both have A = 1 and M = 4; the smaller k wins.
    expect(mRegion(4)).toMatchObject({ k: 2, n: 2 });
    // m = 1: the smallest cube is (2,1); n = 0 is not a cube.
    expect(mRegion(1)).toMatchObject({ k: 2, n: 1, M: 2 });
    expect(mRegion(3)).toMatchObject({ k: 3, n: 1 });
  });

  it('refuses host counts outside 1..10^9', () => {
    for (const m of [0, -1, 1.5, NaN, Infinity, 1e9 + 1]) expect(() => mRegion(m)).toThrow(InvalidArgumentError);
  });
});

describe('regionTable', () => {
  it('covers 1..max contiguously and agrees with mRegion at both ends of every row', () => {
    const table = regionTable(10_000_000);
    expect(table[0]!.minHosts).toBe(1);
    expect(table[table.length - 1]!.maxHosts).toBe(10_000_000);
    table.forEach((row, i) => {
      if (i > 0) expect(row.minHosts).toBe(table[i - 1]!.maxHosts + 1);
      expect(row.maxHosts).toBeLessThanOrEqual(row.M);
      for (const m of [row.minHosts, row.maxHosts]) expect(mRegion(m)).toMatchObject({ k: row.k, n: row.n });
      if (i > 0) expect([table[i - 1]!.k, table[i - 1]!.n]).not.toEqual([row.k, row.n]);
    });
  });

  it('matches mRegion for every m up to 5000', () => {
    const table = regionTable(5000);
    for (const row of table) {
      for (let m = row.minHosts; m <= row.maxHosts; m++) {
        const { k, n } = mRegion(m);
        if (k !== row.k || n !== row.n) expect({ m, k, n }).toEqual({ m, k: row.k, n: row.n });
      }
    }
  });
});
