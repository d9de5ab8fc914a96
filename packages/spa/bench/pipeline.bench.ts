/**
 * SPA pipeline benchmark, the paper's Fig. 9 in the browser: `npm run bench:spa` (inside a
 * private network namespace, bounded; needs `npm run build` first).
 *
 * Chunks of 1, 16, 64 and 256 KB cross three forward SPAs, WINDOW in flight, for DURATION_MS:
 *   ring           SharedArrayBuffer rings between dedicated stage workers (the product's path)
 *   post-copy      postMessage between stage workers, structured clone copying each chunk
 *   post-transfer  postMessage transferring each chunk's buffer
 *   main-thread    the three stages on the page's main thread, one task per stage
 * each while 0, 1, 2 and 4 busy loops (4 ms of every 16) hog the main thread. Throughput, and
 * the jitter of inter-arrival times at the end of the pipeline (p50, p99), medians of REPEATS.
 */
import { summarize } from '@cubecast/overlay';
import type { Page } from 'playwright-core';
import { table } from '@cubecast/bench-kit';
import { startBenchBrowser } from '@cubecast/bench-kit/browser';

const SIZES = [1024, 16 * 1024, 64 * 1024, 256 * 1024];
const TRANSPORTS = ['ring', 'post-copy', 'post-transfer', 'main-thread'] as const;
const LOADS = [0, 1, 2, 4];
const DURATION_MS = 1000;
const REPEATS = 3;
type Transport = (typeof TRANSPORTS)[number];

const bench = await startBenchBrowser('bench:spa', 'spa-bench.html', 15 * 60_000);
const page: Page = await (await bench.browser.newContext()).newPage();
await page.goto(`${bench.server.url}/spa-bench.html`);
await page.waitForFunction(() => 'spaBench' in window);
if (!(await page.evaluate(() => crossOriginIsolated))) throw new Error('the bench page is not cross-origin isolated: no SharedArrayBuffer');

interface Cell {
  mbps: number;
  p50: number;
  p99: number;
}

async function measure(transport: Transport, bytes: number, loops: number): Promise<Cell> {
  const runs: Cell[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const { arrivals } = await page.evaluate(
      ([t, b, l, d]) => (window as unknown as { spaBench: { run(...a: unknown[]): Promise<{ arrivals: number[] }> } }).spaBench.run(t, b, l, d),
      [transport, bytes, loops, DURATION_MS] as const,
    );
    // The first tenth warms up (module compilation, worker start-up, JIT).
    const steady = arrivals.slice(Math.floor(arrivals.length / 10));
    const gaps = steady.slice(1).map((at, j) => at - steady[j]!);
    const seconds = (steady.at(-1)! - steady[0]!) / 1000;
    const gap = summarize(gaps);
    runs.push({ mbps: ((steady.length - 1) * bytes) / 2 ** 20 / seconds, p50: gap.p50, p99: gap.p99 });
  }
  return { mbps: summarize(runs.map((r) => r.mbps)).p50, p50: summarize(runs.map((r) => r.p50)).p50, p99: summarize(runs.map((r) => r.p99)).p50 };
}

const results = new Map<string, Cell>();
const key = (t: Transport, bytes: number, loops: number) => `${t}:${bytes}:${loops}`;
try {
  for (const bytes of SIZES) {
    for (const transport of TRANSPORTS) {
      for (const loops of LOADS) {
        results.set(key(transport, bytes, loops), await measure(transport, bytes, loops));
        process.stderr.write('.');
      }
    }
  }
  process.stderr.write('\n');
} finally {
  await bench.close();
}

const kb = (bytes: number) => `${bytes / 1024} KB`;
const rows: string[][] = [];
for (const bytes of SIZES) {
  for (const transport of TRANSPORTS) {
    const cells = LOADS.map((loops) => results.get(key(transport, bytes, loops))!);
    const copy = results.get(key('post-copy', bytes, 0))!.mbps;
    rows.push([
      kb(bytes),
      transport,
      ...cells.map((c) => c.mbps.toFixed(1)),
      transport === 'post-copy' ? 'baseline' : `${(cells[0]!.mbps / copy).toFixed(2)}x`,
      ...cells.map((c) => `${c.p50.toFixed(3)} / ${c.p99.toFixed(2)}`),
    ]);
  }
}
console.log(`\nThree forward SPAs, ${DURATION_MS} ms per run, medians of ${REPEATS}; busy loops on the main thread: ${LOADS.join(', ')}`);
console.log(
  table(
    ['chunk', 'transport', ...LOADS.map((l) => `MB/s ${l} loops`), 'vs post-copy (0 loops)', ...LOADS.map((l) => `jitter p50/p99 ms, ${l} loops`)],
    rows,
  ),
);
const ring64 = results.get(key('ring', 64 * 1024, 0))!;
const copy64 = results.get(key('post-copy', 64 * 1024, 0))!;
const ratio = ring64.mbps / copy64.mbps;
console.log(`\nring at 64 KB: ${ratio.toFixed(2)}x postMessage with copy (target: at least 2x): ${ratio >= 2 ? 'met' : 'NOT met'}`);
const worst = Math.max(...LOADS.map((l) => results.get(key('ring', 64 * 1024, l))!.p99 - ring64.p99));
console.log(`ring at 64 KB: p99 jitter at most ${worst.toFixed(2)} ms above its unloaded ${ring64.p99.toFixed(2)} ms as main-thread load grows (target: within 1 ms): ${worst <= 1 ? 'met' : 'NOT met'}`);
