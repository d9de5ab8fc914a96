import type { ObserverView } from './observer-model.js';

/** What the observer page shows automation (specs, `npm run bench:observer`). */
declare global {
  interface Window {
    /** The overlay as the page shows it, rebuilt after every change. */
    cubecastObserver?: ObserverView;
    /** Frame times and update latencies (server delta to drawn), the newest PERF_KEPT of each. */
    cubecastObserverPerf?: { updateMs: number[]; frameMs: number[] };
  }
}
