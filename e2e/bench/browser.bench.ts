/**
 * Browser benchmark: `npm run bench:browser` (inside a private network namespace, bounded).
 *
 * (a) One direct link between two tabs, chunks of 16, 64 and 256 KB sent back to back: MB/s.
 * (b) Chains of 2, 3, 4, 8 and 16 tabs forwarding 64 KB chunks back to back from one end to
 *     the other: end-to-end MB/s, total switched MB/s (end-to-end x links), and the overhead
 *     against the 2-tab chain of the same run (iOverlay's Fig. 3 measure).
 * (c) Video-sized chunks (4 KB at 30 fps) through 0, 1, 2 and 4 relays: latency p50/p99 and
 *     the latency each relay adds over the direct link (no emulated delay: all of it is the
 *     engine's and WebRTC's own).
 * Every tab runs the product's engine worker; each figure stands beside its same-run baseline.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startServer, silentLogger } from '@cubecast/signaling-server';
import { chromium, type Browser, type Page } from 'playwright-core';

const DEADLINE_MS = 10 * 60_000;
const FLOOD_MS = 3000;
const STREAM_MS = 6000;

type BenchApi = {
  offer(peer: string): Promise<string>;
  answer(peer: string, offer: string): Promise<string>;
  accept(peer: string, answer: string): Promise<void>;
  openLinks(): string[];
  view(index: number, count: number): void;
  publish(target: number): void;
  subscribe(): void;
  reset(): void;
  flood(bytes: number, durationMs: number): void;
  stream(bytes: number, fps: number, durationMs: number): Promise<void>;
  results(): { bytes: number; chunks: number; firstAt: number; lastAt: number; latencies: number[] };
};
const api = (page: Page) => ({
  call: <K extends keyof BenchApi>(name: K, ...args: Parameters<BenchApi[K]>) =>
    page.evaluate(([n, a]) => (window as unknown as { bench: Record<string, (...x: unknown[]) => unknown> }).bench[n as string]!(...(a as unknown[])), [name, args] as const) as Promise<Awaited<ReturnType<BenchApi[K]>>>,
});

const watchdog = setTimeout(() => {
  console.error(`bench: still running after ${DEADLINE_MS / 60_000} minutes; stopping`);
  process.exit(1);
}, DEADLINE_MS);

const webRoot = fileURLToPath(new URL('../../apps/web/dist', import.meta.url));
if (!existsSync(`${webRoot}/bench.html`)) {
  console.error('bench: apps/web/dist/bench.html is missing; run npm run build first');
  process.exit(2);
}
const server = await startServer({ port: 0, host: '127.0.0.1', webRoot, logger: silentLogger });
const executablePath = process.env.CHROMIUM_PATH ?? (existsSync('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined);
const browser: Browser = await chromium.launch({
  ...(executablePath && { executablePath }),
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-features=WebRtcHideLocalIpsWithMdns', '--disable-background-timer-throttling', '--disable-renderer-backgrounding'],
});

/** n tabs wired in a line, the first publishing to the last. */
async function chain(n: number, raw = false): Promise<{ first: ReturnType<typeof api>; last: ReturnType<typeof api>; close(): Promise<void> }> {
  const context = await browser.newContext();
  const pages: Page[] = [];
  for (let i = 0; i < n; i++) {
    const page = await context.newPage();
    await page.goto(`${server.url}/bench.html${raw ? '?raw' : ''}`);
    await page.waitForFunction(() => 'bench' in window);
    pages.push(page);
  }
  const tabs = pages.map(api);
  for (let i = 0; i + 1 < n; i++) {
    const offer = await tabs[i]!.call('offer', `t${i + 1}`);
    const answer = await tabs[i + 1]!.call('answer', `t${i}`, offer);
    await tabs[i]!.call('accept', `t${i + 1}`, answer);
  }
  if (!raw) for (let i = 0; i < n; i++) await tabs[i]!.call('view', i, n);
  const deadline = Date.now() + 30_000;
  for (let i = 0; i < n; i++) {
    const expected = raw ? 1 : (i > 0 ? 1 : 0) + (i < n - 1 ? 1 : 0);
    while ((await tabs[i]!.call('openLinks')).length < expected) {
      if (Date.now() > deadline) throw new Error(`chain of ${n}: tab ${i} never opened its links`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  if (!raw) {
    await new Promise((r) => setTimeout(r, 1200)); // RTTs measured
    await tabs[n - 1]!.call('subscribe');
    await tabs[0]!.call('publish', n - 1);
    await new Promise((r) => setTimeout(r, 300)); // the route is set up
  }
  return { first: tabs[0]!, last: tabs[n - 1]!, close: () => context.close() };
}

async function throughput(n: number, bytes: number, raw = false): Promise<number> {
  const c = await chain(n, raw);
  try {
    await c.last.call('reset');
    await c.first.call('flood', bytes, FLOOD_MS);
    await new Promise((r) => setTimeout(r, FLOOD_MS + 1500));
    const r = await c.last.call('results');
    return r.bytes / 2 ** 20 / Math.max(0.001, (r.lastAt - r.firstAt) / 1000);
  } finally {
    await c.close();
  }
}

async function latency(n: number): Promise<number[]> {
  const c = await chain(n);
  try {
    await c.last.call('reset');
    await c.first.call('stream', 4096, 30, STREAM_MS);
    await new Promise((r) => setTimeout(r, 500));
    return (await c.last.call('results')).latencies.sort((a, b) => a - b);
  } finally {
    await c.close();
  }
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? NaN;
function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => headers.map((_, c) => String(r[c] ?? '')))];
  const widths = headers.map((_, c) => Math.max(...cells.map((r) => r[c]!.length)));
  const line = (r: string[]) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  return [line(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

try {
  const version = browser.version();
  console.log(`Browser benchmark (Chromium ${version}, node ${process.version}, private network namespace)\n`);

  const direct: (string | number)[][] = [];
  for (const kb of [16, 64, 256]) {
    const bare = await throughput(2, kb * 1024, true);
    const engine = await throughput(2, kb * 1024);
    direct.push([`${kb} KB`, bare.toFixed(1), engine.toFixed(1), `${((engine / bare) * 100).toFixed(0)}%`]);
  }
  console.log('(a) One direct link, chunks back to back: the engine against a bare transferred channel (baseline)');
  console.log(table(['chunk', 'bare channel MB/s', 'engine MB/s', 'engine / bare'], direct));

  const chains: (string | number)[][] = [];
  let base = 0;
  for (const n of [2, 3, 4, 8, 16]) {
    const e2e = await throughput(n, 64 * 1024);
    const switched = e2e * (n - 1);
    if (n === 2) base = switched;
    chains.push([n, e2e.toFixed(1), switched.toFixed(1), n === 2 ? 'baseline' : `${(((base - switched) / base) * 100).toFixed(1)}%`]);
  }
  console.log('\n(b) Chains forwarding 64 KB chunks back to back (overhead: 1 - switched / switched of 2 tabs)');
  console.log(table(['tabs', 'end-to-end MB/s', 'switched MB/s', 'overhead'], chains));

  const video: (string | number)[][] = [];
  let direct50 = 0;
  let direct99 = 0;
  for (const relays of [0, 1, 2, 4]) {
    const samples = await latency(relays + 2);
    const p50 = pct(samples, 0.5);
    const p99 = pct(samples, 0.99);
    if (relays === 0) {
      direct50 = p50;
      direct99 = p99;
    }
    video.push([
      relays,
      samples.length,
      p50.toFixed(2),
      p99.toFixed(2),
      relays === 0 ? 'baseline' : ((p50 - direct50) / relays).toFixed(2),
      relays === 0 ? 'baseline' : ((p99 - direct99) / relays).toFixed(2),
    ]);
  }
  console.log('\n(c) Video-sized chunks (4 KB, 30 fps) through relays: end-to-end latency, ms');
  console.log(table(['relays', 'chunks', 'p50', 'p99', 'added p50 per relay', 'added p99 per relay'], video));
} finally {
  await browser.close();
  await server.close();
  clearTimeout(watchdog);
}
