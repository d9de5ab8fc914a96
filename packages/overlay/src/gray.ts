import type { Cube, LogicalId } from './cube.js';

/**
 * The k-ary reflected Gray code: ranks 0..M-1 map to ids so that consecutive ranks are cube
 * neighbours that differ by ±1 in one digit without wrapping round. Cutting this walk into
 * runs gives every host a connected, compact set of ids.
 *
 * A digit is reflected (d -> k-1-d) when the digits above it put it on a backward sweep. For
 * even k that is when the digit just above is odd; for odd k, k-1 is even, so a carry does not
 * flip parity, and the test is on the sum of all the digits above.
 */
export function grayId(cube: Cube, rank: number): LogicalId {
  const { k, n } = cube;
  const plain = cube.digits(rank);
  let id = 0;
  let above = 0;
  for (let j = 0; j < n; j++) {
    const b = plain[j]!;
    id = id * k + (above % 2 === 1 ? k - 1 - b : b);
    above = k % 2 === 0 ? b : above + b;
  }
  return id;
}

/** Inverse of `grayId`. */
export function grayRank(cube: Cube, id: LogicalId): number {
  const { k, n } = cube;
  const gray = cube.digits(id);
  let rank = 0;
  let above = 0;
  for (let j = 0; j < n; j++) {
    const g = gray[j]!;
    const b = above % 2 === 1 ? k - 1 - g : g;
    rank = rank * k + b;
    above = k % 2 === 0 ? b : above + b;
  }
  return rank;
}
