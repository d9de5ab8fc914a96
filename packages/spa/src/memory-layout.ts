/**
 * Where the host puts a stage's I/O region: above the module's initial pages, its input ring
 * and then the area `spa_process` writes to (packages/spa/src/pipeline.ts). Part of the ABI: a
 * module's declared maximum must leave room for it.
 */
import { ringBytes } from './ring.js';

export const PAGE = 65536;
/** Bytes a stage may add to a chunk (tags, coded headers) on top of its input's size. */
export const STAGE_GROWTH = 64;
/** The largest chunk payload a subscription's pipeline takes (a large VP8 key frame). */
export const MAX_PAYLOAD_CHUNK_BYTES = 128 * 1024;

const nextPowerOfTwo = (n: number) => 2 ** Math.ceil(Math.log2(n));
export const align8 = (n: number) => (n + 7) & ~7;

/**
 * Room for four of the largest chunks, and for many small ones: a stage works on one while
 * the previous stage writes the next, and bursts do not stall the producer.
 */
export const ringCapacityFor = (maxRecord: number) => Math.max(4 * PAGE, nextPowerOfTwo(4 * (maxRecord + 16)));

/** Pages a stage's I/O region takes above the module's initial memory, for inputs of up to `maxChunkBytes`. */
export function ioRegionPages(maxChunkBytes: number): number {
  return Math.ceil((align8(ringBytes(ringCapacityFor(maxChunkBytes))) + maxChunkBytes + STAGE_GROWTH) / PAGE);
}
