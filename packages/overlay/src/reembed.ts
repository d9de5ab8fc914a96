import { Cube } from './cube.js';
import { mRegion, regionTable, type Region } from './m-region.js';

export interface ReembedPolicy {
  /**
   * How far below its M-region a population must fall before the cube shrinks, as a fraction
   * of the region's lower bound (at least 2 hosts). Default 0.25.
   */
  readonly hysteresis?: number;
  /** A cube an operator forced: kept until it is full, whatever the population. */
  readonly pinned?: boolean;
}

/** The smallest population `mRegion` maps to this cube, or undefined if it is never optimal. */
export function regionLowerBound(cube: Cube): number | undefined {
  return regionTable(cube.size).find((row) => row.k === cube.k && row.n === cube.n)?.minHosts;
}

/**
 * Where a population of m hosts in `current` should move, or null to stay.
 *
 * - Growing past M is forced: the cube is full. Every M-region ends at its own M (checked by
 *   the tests up to 10^7), so growth has nothing to be hysteretic about.
 * - Shrinking waits until m is below the current region's lower bound by a margin of
 *   max(2, hysteresis * bound) hosts, so a population flapping at a boundary rebuilds nothing.
 */
export function reembedTarget(current: Cube, m: number, policy: ReembedPolicy = {}): Region | null {
  if (m > current.size) return mRegion(m);
  if (policy.pinned || m < 1) return null;
  const target = mRegion(m);
  if (target.k === current.k && target.n === current.n) return null;
  const lower = regionLowerBound(current);
  if (lower === undefined) return target;
  const margin = Math.max(2, Math.ceil((policy.hysteresis ?? 0.25) * lower));
  return m <= lower - margin ? target : null;
}
