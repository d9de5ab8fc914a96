import { describe, expect, it } from 'vitest';
import { Cube } from './cube.js';
import { mRegion, regionTable } from './m-region.js';
import { reembedTarget, regionLowerBound } from './reembed.js';

const cubeFor = (m: number) => {
  const r = mRegion(m);
  return new Cube(r.k, r.n);
};

describe('reembedTarget', () => {
  it('every M-region ends at its own M, so growth past a region is always a full cube', () => {
    for (const row of regionTable(10_000_000)) expect(row.maxHosts === row.M || row.maxHosts === 10_000_000).toBe(true);
  });

  it('grows when the cube is full, to the region of the new population', () => {
    expect(reembedTarget(new Cube(3, 3), 28)).toMatchObject({ k: 2, n: 5 });
    expect(reembedTarget(new Cube(3, 10), 59050)).toMatchObject({ k: 3, n: 11 });
    expect(reembedTarget(new Cube(2, 16), 70000, { pinned: true })).toMatchObject({ k: 3, n: 11 });
  });

  it('stays inside its region and in the hysteresis band below it', () => {
    const big = new Cube(3, 11);
    expect(regionLowerBound(big)).toBe(59050);
    expect(reembedTarget(big, 59050)).toBeNull();
    expect(reembedTarget(big, 59049)).toBeNull();
    expect(reembedTarget(big, 44288)).toBeNull();
    expect(reembedTarget(big, 44287)).toMatchObject({ k: 3, n: 10 });
  });

  it('never flaps for a population walking back and forth across a boundary', () => {
    let cube = cubeFor(59049);
    let reembeds = 0;
    for (let step = 0; step < 1000; step++) {
      const m = step % 2 === 0 ? 59050 : 59049;
      const target = reembedTarget(cube, m);
      if (target) {
        cube = new Cube(target.k, target.n);
        reembeds++;
      }
    }
    expect(reembeds).toBe(1);
  });

  it('keeps a pinned cube while it has room, and moves off a never-optimal cube otherwise', () => {
    expect(reembedTarget(new Cube(2, 16), 1000, { pinned: true })).toBeNull();
    expect(regionLowerBound(new Cube(2, 16))).toBeUndefined();
    expect(reembedTarget(new Cube(2, 16), 1000)).toMatchObject(mRegion(1000));
  });
});
