import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cubeExtent, cubePosition, idsLabel } from './cube-layout.js';

const cubes = fc.tuple(fc.integer({ min: 2, max: 6 }), fc.integer({ min: 1, max: 6 })).filter(([k, n]) => k ** n <= 4096);

describe('cubePosition', () => {
  it('places every id of a cube at its own point, inside the extent', () => {
    fc.assert(
      fc.property(cubes, ([k, n]) => {
        const { width, height } = cubeExtent(k, n);
        const seen = new Set<string>();
        for (let id = 0; id < k ** n; id++) {
          const { x, y } = cubePosition(id, k, n);
          expect(x >= 0 && x < width && y >= 0 && y < height).toBe(true);
          seen.add(`${x},${y}`);
        }
        expect(seen.size).toBe(k ** n);
      }),
    );
  });

  it('lines up ids that differ in one coordinate: across for even dimensions, down for odd ones', () => {
    fc.assert(
      fc.property(cubes.chain(([k, n]) => fc.tuple(fc.constant(k), fc.constant(n), fc.integer({ min: 0, max: k ** n - 1 }), fc.integer({ min: 0, max: n - 1 }), fc.integer({ min: 1, max: k - 1 }))), ([k, n, id, dimension, step]) => {
        const digit = Math.floor(id / k ** dimension) % k;
        const other = id - digit * k ** dimension + ((digit + step) % k) * k ** dimension;
        const [a, b] = [cubePosition(id, k, n), cubePosition(other, k, n)];
        if (dimension % 2 === 0) expect(a.y).toBe(b.y);
        else expect(a.x).toBe(b.x);
      }),
    );
  });

  it('draws a 2-ary 3-cube as two blocks of a square, dimension 2 the gap between them', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((id) => cubePosition(id, 2, 3))).toEqual([
      { x: 0, y: 0 },
      { x: 1, y: 0 },
      { x: 0, y: 1 },
      { x: 1, y: 1 },
      { x: 2.5, y: 0 },
      { x: 3.5, y: 0 },
      { x: 2.5, y: 1 },
      { x: 3.5, y: 1 },
    ]);
  });
});

describe('idsLabel', () => {
  it('shows up to four ids in order, then how many more', () => {
    expect(idsLabel([])).toBe('');
    expect(idsLabel([7, 3])).toBe('3 7');
    expect(idsLabel([4, 3, 2, 1])).toBe('1 2 3 4');
    expect(idsLabel([6, 7, 8, 17, 16, 15])).toBe('6 7 8 15 +2');
  });
});
