import type { ObserverView } from './observer-model.js';

/** What the observer page shows automation (specs, `npm run bench:observer`). */
declare global {
  interface Window {
    /** The overlay as the page shows it now (built when read). */
    cubecastObserver?: ObserverView;
    /**
     * Only on a page opened with `?perf`: frame times and update latencies (a delta built at the server to drawn), the newest
     * PERF_KEPT of each, and when each host that joined after the page opened was first drawn (ms since the epoch).
     */
    cubecastObserverPerf?: { updateMs: number[]; frameMs: number[]; hostShownAt: Record<string, number> };
  }
}
