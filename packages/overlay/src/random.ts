/**
 * Deterministic hashing and pseudo-random numbers. Everything seeded in the overlay (random
 * routing, random link costs, simulations) goes through here, so a seed reproduces a run on
 * any machine.
 */

/** A 32-bit finaliser (lowbias32): every input bit affects every output bit. */
export function mix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hash of a seed and up to two 32-bit values, order-sensitive. */
export function hash32(seed: number, a: number, b = 0): number {
  return mix32(mix32(mix32(seed ^ 0x9e3779b9) ^ a) ^ b);
}

/** A seeded generator of floats in [0, 1) (mulberry32). */
export type Rng = () => number;

export function createRng(seed: number): Rng {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer in `0..bound-1` drawn from `rng`. */
export function randomInt(rng: Rng, bound: number): number {
  return Math.floor(rng() * bound);
}
