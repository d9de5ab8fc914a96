import type { Browser, Page } from 'playwright-core';
import type { LinkRoute, LinkStats, LossProtection } from '@cubecast/peer';

/** What bench.html offers its harness (apps/web/src/bench/bench-page.ts). */
export type BenchApi = {
  ice(configuration: RTCConfiguration): void;
  routes(): Promise<Record<string, LinkRoute | null>>;
  offer(peer: string): Promise<string>;
  answer(peer: string, offer: string): Promise<string>;
  accept(peer: string, answer: string): Promise<void>;
  openLinks(): string[];
  view(index: number, count: number): void;
  publish(target: number, channel?: number, maxLatencyMs?: number): void;
  subscribe(channel?: number): void;
  reset(channel?: number): void;
  protection(protection: LossProtection): void;
  sentBytes(): number;
  links(): LinkStats[];
  stripeBytes(peer: string): Promise<number[]>;
  dropStripe(peer: string, stripe: number): void;
  flood(bytes: number, durationMs: number, channel?: number): void;
  relay(peer: string | null): void;
  stream(bytes: number, fps: number, durationMs: number, flags?: number, keyEvery?: number): Promise<number>;
  results(): { bytes: number; chunks: number; firstAt: number; lastAt: number; latencies: number[]; arrivals: number[]; sequences: number[]; keys: number[] };
};

/** Calls bench.html's API in a page. */
export const benchApi = (page: Pick<Page, 'evaluate'>) => ({
  call: <K extends keyof BenchApi>(name: K, ...args: Parameters<BenchApi[K]>) =>
    page.evaluate(([n, a]) => (window as unknown as { bench: Record<string, (...x: unknown[]) => unknown> }).bench[n as string]!(...(a as unknown[])), [name, args] as const) as Promise<Awaited<ReturnType<BenchApi[K]>>>,
});

export type BenchTab = ReturnType<typeof benchApi>;

/**
 * Tabs wired in a line over WebRTC, the harness passing the SDP: each tab offers to the next.
 * With the engine (not `raw`): each tab gets its place in the line, the last subscribes and the
 * first publishes to it (with that latency bound). Resolves once every link is open and the route is set up.
 */
export async function wireLine(tabs: readonly BenchTab[], raw = false, maxLatencyMs?: number): Promise<void> {
  const n = tabs.length;
  for (let i = 0; i + 1 < n; i++) {
    const offer = await tabs[i]!.call('offer', `t${i + 1}`);
    const answer = await tabs[i + 1]!.call('answer', `t${i}`, offer);
    await tabs[i]!.call('accept', `t${i + 1}`, answer);
  }
  if (!raw) for (let i = 0; i < n; i++) await tabs[i]!.call('view', i, n);
  const deadline = Date.now() + 30_000;
  for (let i = 0; i < n; i++) {
    const expected = (i > 0 ? 1 : 0) + (i < n - 1 ? 1 : 0);
    while ((await tabs[i]!.call('openLinks')).length < expected) {
      if (Date.now() > deadline) throw new Error(`line of ${n}: tab ${i} never opened its links`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  if (!raw) {
    await new Promise((r) => setTimeout(r, 1200)); // RTTs measured
    await tabs[n - 1]!.call('subscribe');
    await tabs[0]!.call('publish', n - 1, 1, maxLatencyMs);
    await new Promise((r) => setTimeout(r, 300)); // the route is set up
  }
}

/**
 * n tabs of bench.html (at `url`) in a fresh context, wired in a line (`wireLine`); closing
 * closes them all.
 */
export async function openChain(browser: Browser, url: string, n: number, raw = false, maxLatencyMs?: number, stripes = 1): Promise<{ first: BenchTab; last: BenchTab; tabs: BenchTab[]; close(): Promise<void> }> {
  const context = await browser.newContext();
  const pages: Page[] = [];
  for (let i = 0; i < n; i++) {
    const page = await context.newPage();
    await page.goto(`${url}/bench.html${raw ? '?raw' : stripes > 1 ? `?stripes=${stripes}` : ''}`);
    await page.waitForFunction(() => 'bench' in window);
    pages.push(page);
  }
  const tabs = pages.map(benchApi);
  await wireLine(tabs, raw, maxLatencyMs);
  return { first: tabs[0]!, last: tabs[n - 1]!, tabs, close: () => context.close() };
}

/** MB/s of one flood of `bytes`-sized chunks for `ms`, from `first` to `last`, as `last` counted it. */
export async function floodRate(first: BenchTab, last: BenchTab, bytes: number, ms: number): Promise<number> {
  await last.call('reset');
  await first.call('flood', bytes, ms);
  await new Promise((r) => setTimeout(r, ms + 1000));
  const r = await last.call('results');
  return r.bytes / 2 ** 20 / Math.max(0.001, (r.lastAt - r.firstAt) / 1000);
}
