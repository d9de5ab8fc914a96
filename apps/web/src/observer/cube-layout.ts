/**
 * Where a logical id of a k-ary n-cube sits in the observer's picture: even dimensions run
 * across and odd ones down, each dimension's blocks spaced wider than those of the one below,
 * so a small cube shows its dimensions as nested rows and columns (hosts differing in one
 * coordinate line up) and a large one stays a readable grid. Units: one step of dimension 0.
 */
export function cubePosition(id: number, k: number, n: number): { x: number; y: number } {
  const position = { x: 0, y: 0 };
  const strides = { x: 1, y: 1 };
  let rest = id;
  for (let dimension = 0; dimension < n; dimension++) {
    const digit = rest % k;
    rest = Math.floor(rest / k);
    const axis = dimension % 2 === 0 ? 'x' : 'y';
    position[axis] += digit * strides[axis];
    // A gap of half a block between blocks of the next dimension up on this axis.
    strides[axis] *= k + 0.5;
  }
  return position;
}

/** The picture's extent for a cube: where the last id on each axis sits, plus one step. */
export function cubeExtent(k: number, n: number): { width: number; height: number } {
  const last = cubePosition(k ** n - 1, k, n);
  return { width: last.x + 1, height: last.y + 1 };
}

/** Ids a host's label in the picture shows: past this many they would run into the next host's. */
const LABELLED_IDS = 4;

/** A host's ids as its label shows them: the first few in order, then how many more (the details panel lists all). */
export function idsLabel(ids: readonly number[]): string {
  const sorted = [...ids].sort((a, b) => a - b);
  const shown = sorted.slice(0, LABELLED_IDS).join(' ');
  return sorted.length > LABELLED_IDS ? `${shown} +${sorted.length - LABELLED_IDS}` : shown;
}
