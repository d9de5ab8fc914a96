/**
 * Emulated one-way delay between two hosts with emulated positions: their Euclidean distance,
 * one map unit per millisecond. A 200 x 100 map spans about a 200 ms continent-to-continent
 * path; hosts without a position add no emulated delay.
 */
export function emulatedOneWayDelayMs(a: readonly [number, number] | undefined, b: readonly [number, number] | undefined): number {
  if (!a || !b) return 0;
  return Math.hypot(a[0] - b[0], a[1] - b[1]);
}
