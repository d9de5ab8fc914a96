import { Cube, MAX_RADIX, MAX_CUBE_SIZE } from './cube.js';
import { InvalidArgumentError } from './errors.js';

/** The largest host count `mRegion` answers for; every winner up to it fits MAX_CUBE_SIZE. */
export const MAX_HOSTS = 1_000_000_000;

/** The facts of the cube chosen for a population, in the CLI's field order. */
export interface Region {
  readonly k: number;
  readonly n: number;
  /** k^n */
  readonly M: number;
  readonly avgHops: number;
  readonly diameter: number;
  readonly degree: number;
}

/** A row of the region table: every m in `minHosts..maxHosts` maps to this (k, n). */
export interface RegionRange extends Region {
  readonly minHosts: number;
  readonly maxHosts: number;
}

export function describeCube(cube: Cube): Region {
  return {
    k: cube.k,
    n: cube.n,
    M: cube.size,
    avgHops: cube.averageHops,
    diameter: cube.diameter,
    degree: cube.degree,
  };
}

function assertHostCount(m: number, what: string): void {
  if (!Number.isInteger(m) || m < 1 || m > MAX_HOSTS) {
    throw new InvalidArgumentError(`${what} must be an integer from 1 to ${MAX_HOSTS}, got ${m}`);
  }
}

/** Smallest n >= 1 with k^n >= m, in exact integer arithmetic (no logarithms). */
function smallestDimension(k: number, m: number): number {
  let n = 1;
  let size = k;
  while (size < m) {
    size *= k;
    n++;
  }
  return n;
}

/**
 * Is (k1, n1) better than (k2, n2) by DESIGN.md's order: lower A, then larger M, then smaller
 * k? A = n*floor(k^2/4)/k is compared by cross-multiplication, so ties are exact.
 */
function better(k1: number, n1: number, k2: number, n2: number): boolean {
  const a1 = n1 * Math.floor((k1 * k1) / 4) * k2;
  const a2 = n2 * Math.floor((k2 * k2) / 4) * k1;
  if (a1 !== a2) return a1 < a2;
  const m1 = k1 ** n1;
  const m2 = k2 ** n2;
  if (m1 !== m2) return m1 > m2;
  return k1 < k2;
}

/**
 * The cube for m hosts: among all (k, n) with k^n >= m, the one minimising A(k, n); ties go
 * to the larger M, then the smaller k. For a fixed k, A grows with n, so only the smallest
 * fitting n of each radix can win: that makes this a scan over 35 candidates. (The slides'
 * pseudocode walks a diagonal and can skip regions; this does not.)
 */
export function mRegion(m: number): Region {
  assertHostCount(m, 'the host count');
  let bestK = 2;
  let bestN = smallestDimension(2, m);
  for (let k = 3; k <= MAX_RADIX; k++) {
    const n = smallestDimension(k, m);
    if (better(k, n, bestK, bestN)) {
      bestK = k;
      bestN = n;
    }
  }
  // Unreachable for m <= MAX_HOSTS (the winner is 2- or 3-ary), kept as a guard on the cap.
  if (bestK ** bestN > MAX_CUBE_SIZE) {
    throw new InvalidArgumentError(`no cube of at most ${MAX_CUBE_SIZE} nodes is optimal for ${m} hosts`);
  }
  return describeCube(new Cube(bestK, bestN));
}

/**
 * Which range of host counts maps to which cube, for m from 1 to `maxHosts`. The answer of
 * `mRegion` can only change just after m passes some k^n, so it is evaluated once per such
 * breakpoint and equal neighbours are merged.
 */
export function regionTable(maxHosts: number): RegionRange[] {
  assertHostCount(maxHosts, 'the largest host count');
  const breakpoints = new Set<number>([maxHosts]);
  for (let k = 2; k <= MAX_RADIX; k++) {
    for (let size = k; size < maxHosts; size *= k) breakpoints.add(size);
  }
  const ends = [...breakpoints].sort((a, b) => a - b);
  const table: RegionRange[] = [];
  let start = 1;
  for (const end of ends) {
    const region = mRegion(start);
    const last = table[table.length - 1];
    if (last && last.k === region.k && last.n === region.n) {
      table[table.length - 1] = { ...last, maxHosts: end };
    } else {
      table.push({ minHosts: start, maxHosts: end, ...region });
    }
    start = end + 1;
  }
  return table;
}
