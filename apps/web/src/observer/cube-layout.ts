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
