/** How chunks cross the three stages. */
export type Transport = 'ring' | 'post-copy' | 'post-transfer' | 'main-thread';

export interface BenchRun {
  readonly transport: Exclude<Transport, 'main-thread'>;
  readonly bytes: number;
  readonly durationMs: number;
}

/** Arrival times (ms) of the chunks at the end of the pipeline. */
export interface BenchResult {
  readonly arrivals: number[];
  readonly bytes: number;
}

/** Chunks in flight: the source sends one more each time one arrives (the same for every transport). */
export const WINDOW = 8;
export const STAGES = 3;
