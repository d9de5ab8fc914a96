import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Cube } from './cube.js';
import { InvalidArgumentError } from './errors.js';

const shapes = fc
  .tuple(fc.integer({ min: 2, max: 36 }), fc.integer({ min: 1, max: 6 }))
  .filter(([k, n]) => k ** n <= 2 ** 20)
  .map(([k, n]) => new Cube(k, n));
const cubeAndIds = shapes.chain((cube) =>
  fc.tuple(fc.constant(cube), fc.nat(cube.size - 1), fc.nat(cube.size - 1), fc.nat(cube.size - 1)),
);

/** Hop distances from one node by breadth-first search over `neighbours`: the definition. */
function bfsDistances(cube: Cube, from: number): Int32Array {
  const dist = new Int32Array(cube.size).fill(-1);
  dist[from] = 0;
  const queue = [from];
  for (let head = 0; head < queue.length; head++) {
    const at = queue[head]!;
    for (const next of cube.neighbours(at)) {
      if (dist[next] === -1) {
        dist[next] = dist[at]! + 1;
        queue.push(next);
      }
    }
  }
  return dist;
}

describe('Cube', () => {
  it('rejects shapes outside its domain', () => {
    expect(() => new Cube(1, 3)).toThrow(InvalidArgumentError);
    expect(() => new Cube(37, 2)).toThrow(/k must be an integer from 2 to 36/);
    expect(() => new Cube(3, 0)).toThrow(/n must be a positive integer/);
    expect(() => new Cube(2.5, 2)).toThrow(InvalidArgumentError);
    expect(() => new Cube(2, 33)).toThrow(/more than/);
  });

  it('has degree n for k = 2 and 2n otherwise, neighbours distinct and symmetric', () => {
    fc.assert(
      fc.property(cubeAndIds, ([cube, a]) => {
        const ns = cube.neighbours(a);
        expect(ns).toHaveLength(cube.degree);
        expect(cube.degree).toBe(cube.k === 2 ? cube.n : 2 * cube.n);
        expect(new Set(ns).size).toBe(ns.length);
        for (const b of ns) {
          expect(b).not.toBe(a);
          expect(cube.neighbours(b)).toContain(a);
          expect(cube.areNeighbours(a, b)).toBe(true);
          expect(cube.hopDistance(a, b)).toBe(1);
        }
      }),
    );
  });

  it('areNeighbours agrees with the neighbour list', () => {
    fc.assert(
      fc.property(cubeAndIds, ([cube, a, b]) => {
        expect(cube.areNeighbours(a, b)).toBe(cube.neighbours(a).includes(b));
      }),
    );
  });

  it('hop distance is a metric', () => {
    fc.assert(
      fc.property(cubeAndIds, ([cube, a, b, c]) => {
        expect(cube.hopDistance(a, a)).toBe(0);
        expect(cube.hopDistance(a, b)).toBe(cube.hopDistance(b, a));
        expect(cube.hopDistance(a, c)).toBeLessThanOrEqual(cube.hopDistance(a, b) + cube.hopDistance(b, c));
        expect(cube.hopDistance(a, b)).toBeLessThanOrEqual(cube.diameter);
      }),
    );
  });

  it('hop distance equals breadth-first distance', () => {
    for (const cube of [new Cube(2, 5), new Cube(3, 4), new Cube(4, 3), new Cube(5, 3), new Cube(6, 2)]) {
      for (const from of [0, 1, cube.size - 1, Math.floor(cube.size / 3)]) {
        const dist = bfsDistances(cube, from);
        for (let to = 0; to < cube.size; to++) expect(cube.hopDistance(from, to)).toBe(dist[to]);
      }
    }
  });

  it('W and A equal brute force for every k <= 7, n <= 3', () => {
    for (let k = 2; k <= 7; k++) {
      for (let n = 1; n <= 3; n++) {
        const cube = new Cube(k, n);
        let worst = 0;
        let total = 0;
        for (let a = 0; a < cube.size; a++) {
          const dist = bfsDistances(cube, a);
          for (const d of dist) {
            worst = Math.max(worst, d);
            total += d;
          }
        }
        expect(cube.diameter, `W(${k},${n})`).toBe(worst);
        expect(cube.averageHops, `A(${k},${n})`).toBeCloseTo(total / (cube.size * cube.size), 12);
      }
    }
  });

  it('round-trips ids through text, dimension 0 leftmost', () => {
    fc.assert(
      fc.property(cubeAndIds, ([cube, a]) => {
        const text = cube.toText(a);
        expect(text).toHaveLength(cube.n);
        expect(cube.fromText(text)).toBe(a);
        expect(cube.fromText(text.toUpperCase())).toBe(a);
        for (let dim = 0; dim < cube.n; dim++) expect(parseInt(text[dim]!, 36)).toBe(cube.digit(a, dim));
      }),
    );
    const cube = new Cube(3, 4);
    expect(cube.toText(cube.fromDigits([0, 1, 2, 0]))).toBe('0120');
    expect(cube.step(cube.fromText('0120'), 0, 1)).toBe(cube.fromText('1120'));
    expect(cube.step(cube.fromText('0120'), 0, -1)).toBe(cube.fromText('2120'));
    expect(new Cube(36, 2).toText(36 * 36 - 1)).toBe('zz');
  });

  it('refuses text that is not an id of the cube', () => {
    const cube = new Cube(3, 4);
    expect(() => cube.fromText('012')).toThrow(/expected 4 base-3 digits/);
    expect(() => cube.fromText('0130')).toThrow(/'3' is not a base-3 digit/);
    expect(() => cube.fromText('01-0')).toThrow(InvalidArgumentError);
    expect(() => cube.toText(81)).toThrow(/not an id/);
    expect(() => cube.toText(-1)).toThrow(/not an id/);
    expect(() => cube.toText(1.5)).toThrow(/not an id/);
  });
});
