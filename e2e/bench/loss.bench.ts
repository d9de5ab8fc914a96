/**
 * Loss benchmark: `npm run bench:loss` (inside a private network namespace, bounded).
 *
 * Video-sized chunks (12 KB, one fragment, at 30 fps, a key frame every 2 s, bound 300 ms) through 1, 2 and 4 hops
 * of tabs running the product's engine, with real UDP loss (iptables, every hop) of 0, 2, 5
 * and 10%. On the same line of tabs, chunks are sent as before this change (not timely: the
 * reliable, ordered lane) and as video now is (timely: unordered lanes, retransmitted while
 * the deadline allows, dropped past it), the two alternated ROUNDS times; each figure is the
 * median of its rounds (one round's p99 rests on a handful of chunks, and SCTP's retransmission
 * timer makes single rounds swing by 10x). Latency is true latency (every tab runs on this
 * machine's clock), delivered is the share of chunks sent that arrived, and the longest stall
 * is the longest time between two arrivals.
 */
import { summarize } from '@cubecast/overlay';
import { Flags } from '@cubecast/protocol';
import { startBenchBrowser } from '@cubecast/bench-kit/browser';
import { table } from '@cubecast/bench-kit';
import type { Page } from 'playwright-core';
import { UdpLoss } from '../net/udp-loss.js';
import { benchApi, wireLine } from './bench-page-api.js';

const DEADLINE_MS = 15 * 60_000;
const STREAM_MS = 6000;
const ROUNDS = 3;
const BOUND_MS = 300;
const BYTES = 12 * 1024;
const FPS = 30;
/** A key frame every 2 s, as the publisher makes them: late key frames are not dropped. */
const KEY_EVERY = 60;

const bench = await startBenchBrowser('bench:loss', 'bench.html', DEADLINE_MS);
const loss = new UdpLoss();

async function line(hops: number) {
  const context = await bench.browser.newContext();
  const pages: Page[] = [];
  for (let i = 0; i <= hops; i++) {
    const page = await context.newPage();
    await page.goto(`${bench.server.url}/bench.html`);
    await page.waitForFunction(() => 'bench' in window);
    pages.push(page);
  }
  const tabs = pages.map(benchApi);
  await wireLine(tabs, false, BOUND_MS);
  return { first: tabs[0]!, last: tabs.at(-1)!, close: () => context.close() };
}

async function measure(l: Awaited<ReturnType<typeof line>>, flags: number) {
  await l.last.call('reset', 1);
  const sent = await l.first.call('stream', BYTES, FPS, STREAM_MS, flags, KEY_EVERY);
  await new Promise((r) => setTimeout(r, 1500));
  const r = await l.last.call('results');
  const { p50, p99 } = summarize(r.latencies.length > 0 ? r.latencies : [NaN]);
  let stall = 0;
  for (let i = 1; i < r.arrivals.length; i++) stall = Math.max(stall, r.arrivals[i]! - r.arrivals[i - 1]!);
  return { p50, p99, delivered: r.chunks / sent, late: r.latencies.filter((x) => x > BOUND_MS).length / Math.max(1, r.latencies.length), stall };
}

try {
  console.log(`Loss benchmark (Chromium ${bench.browser.version()}, node ${process.version}, private network namespace)`);
  console.log(`${BYTES / 1024} KB chunks at ${FPS} fps for ${STREAM_MS / 1000} s, bound ${BOUND_MS} ms; reliable = the reliable ordered lane (as before), timely = the timely lanes\n`);
  const rows: (string | number)[][] = [];
  for (const hops of [1, 2, 4]) {
    const l = await line(hops);
    try {
      for (const probability of [0, 0.02, 0.05, 0.1]) {
        loss.set(probability);
        const rounds = { reliable: [] as Awaited<ReturnType<typeof measure>>[], timely: [] as Awaited<ReturnType<typeof measure>>[] };
        for (let round = 0; round < ROUNDS; round++) {
          rounds.reliable.push(await measure(l, 0));
          rounds.timely.push(await measure(l, Flags.Timely));
        }
        for (const [mode, runs] of Object.entries(rounds)) {
          const median = (pick: (m: (typeof runs)[number]) => number) => summarize(runs.map(pick)).p50;
          rows.push([hops, `${probability * 100}%`, mode, median((m) => m.p50).toFixed(1), median((m) => m.p99).toFixed(1), `${(median((m) => m.delivered) * 100).toFixed(1)}%`, `${(median((m) => m.late) * 100).toFixed(1)}%`, median((m) => m.stall).toFixed(0)]);
          console.log(rows.at(-1)!.join('  '));
        }
      }
    } finally {
      loss.set(0);
      await l.close();
    }
  }
  console.log();
  console.log(table(['hops', 'loss', 'mode', 'p50 ms', 'p99 ms', 'delivered', 'late', 'longest stall ms'], rows));
  console.log(`targets at 10% loss (timely): p99 within 3x of the lossless p99 + 10 ms, delivered >= 90% of lossless, no stall over 500 ms; at 2%: p99 within 1.5x`);
} finally {
  loss.set(0);
  await bench.close();
}
