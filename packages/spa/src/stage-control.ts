/**
 * What a stage and its host share besides the rings: per stage, Int32 control words (read by
 * the watchdog with Atomics) and Float64 stats (written by the stage only, read as a snapshot).
 */
export const STAGE_WORDS = 4;
export const STAGE_STATS = 8;

export const Control = {
  /** ms since the pipeline's epoch + 1 while `spa_process` runs; 0 while idle. */
  BusySince: 0,
} as const;

export const Stat = {
  ChunksIn: 0,
  ChunksOut: 1,
  /** Outputs dropped because the next stage stayed full. */
  Dropped: 2,
  /** Chunks the module refused (a status below -1) or trapped on. */
  Errors: 3,
  BusyMicros: 4,
  LastMicros: 5,
  MaxMicros: 6,
} as const;

/** A shared memory's buffer (lib.dom types every memory's buffer as an ArrayBuffer). */
export const sharedBufferOf = (memory: WebAssembly.Memory) => memory.buffer as unknown as SharedArrayBuffer;
