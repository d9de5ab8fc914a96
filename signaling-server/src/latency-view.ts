import { emulatedOneWayDelayMs } from '@cubecast/protocol';
import { measurement, type Store } from './store.js';

/**
 * One-way latency between two hosts as the server best knows it, for swap planning:
 * 1. measured: half the RTT either end reported on their link (their mean when both did);
 * 2. emulated: both hosts have emulated positions, so the delay the engines add is known;
 * 3. estimated: half the RTT their network coordinates predict;
 * else Infinity, which no planner will pick.
 */
export function oneWayLatencyMs(store: Store, a: string, b: string): number {
  if (a === b) return 0;
  const ab = measurement(store, a, b)?.rttMs;
  const ba = measurement(store, b, a)?.rttMs;
  if (ab !== undefined || ba !== undefined) {
    const rtts = [ab, ba].filter((r): r is number => r !== undefined);
    return rtts.reduce((s, r) => s + r, 0) / rtts.length / 2;
  }
  const pa = store.hosts.get(a)?.emulation?.position;
  const pb = store.hosts.get(b)?.emulation?.position;
  if (pa && pb) return emulatedOneWayDelayMs(pa, pb);
  const estimate = store.coordinates.estimateRtt(a, b);
  return estimate === undefined ? Infinity : estimate / 2;
}
