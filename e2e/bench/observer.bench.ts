/**
 * Observer page benchmark: `npm run bench:observer` (inside a private network namespace,
 * bounded in hosts and time).
 *
 * The observer page (/observer) in Chromium watches 100, then 1000 virtual hosts (socket.io
 * clients in a process of their own, as in the signaling benchmarks). First the page sits
 * still with them (the baseline, same run), then for CHURN_MS a few hosts a second join and
 * leave, each moving ids and links in the feed. Reported, p50/p99:
 * - frame time: the time between two animation frames (60 Hz is 16.7 ms; long frames are
 *   jank a person feels);
 * - update latency: from the server building a delta (its `time`) to the page having drawn it;
 * - join shown: from a host's join (its ack) to the page first drawing the host, which adds
 *   the server's delta interval (at most one delta per 250 ms);
 * - input delay: a round trip into the page's main thread (a click waits as long).
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { summarize } from '@cubecast/overlay';
import { startBenchBrowser } from '@cubecast/bench-kit/browser';
import { table } from '@cubecast/bench-kit';
import type { Page } from 'playwright-core';
import { VirtualHost } from '../../signaling-server/src/testing/virtual-host.js';
import { ask, startClientProcess } from '../../signaling-server/bench/server-process.js';

const DEADLINE_MS = 15 * 60_000;
const POPULATIONS = process.env.CUBECAST_OBSERVER_HOSTS?.split(',').map(Number) ?? [100, 1000];
const STILL_MS = 5000;
const CHURN_MS = 20_000;
/** Hosts that join, and as many that leave, each second of churn. */
const CHURN_PER_SECOND = 4;
const PROBE_EVERY_MS = 100;

const bench = await startBenchBrowser('bench:observer', 'observer.html', DEADLINE_MS, { limits: { maxConnectionsPerAddress: 1_000_000 } });

/** `count` virtual hosts joined from a child process (signaling-server's load-clients.ts). */
async function joinHosts(url: string, count: number): Promise<ChildProcess> {
  const child = await startClientProcess(url, count);
  const reply = await ask<{ type: string; error?: string }>(child, 'join');
  if (reply.error) throw new Error(`virtual hosts did not join: ${reply.error}`);
  return child;
}

/** What the page measured since the last call: frame times and update latencies. */
async function drain(page: Page): Promise<{ frameMs: number[]; updateMs: number[] }> {
  return page.evaluate(() => {
    const perf = window.cubecastObserverPerf!;
    const taken = { frameMs: [...perf.frameMs], updateMs: [...perf.updateMs] };
    perf.frameMs.length = 0;
    perf.updateMs.length = 0;
    return taken;
  });
}

/** Input delays: round trips into the page every PROBE_EVERY_MS while `work` runs. */
async function probing(page: Page, work: () => Promise<void>): Promise<number[]> {
  const delays: number[] = [];
  let running = true;
  const probe = (async () => {
    while (running) {
      const started = performance.now();
      await page.evaluate(() => 0);
      delays.push(performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, PROBE_EVERY_MS));
    }
  })();
  try {
    await work();
  } finally {
    running = false;
    await probe;
  }
  return delays;
}

const rows: string[][] = [];
const row = (hosts: number, phase: string, m: { frameMs: number[]; updateMs: number[] }, input: number[], joinShown: number[] = [], joins = 0) => {
  const frame = summarize(m.frameMs);
  const update = m.updateMs.length > 0 ? summarize(m.updateMs) : undefined;
  const delay = summarize(input);
  const shown = joinShown.length > 0 ? summarize(joinShown) : undefined;
  rows.push([String(hosts), phase, frame.p50.toFixed(1), frame.p99.toFixed(1), String(m.updateMs.length), update?.p50.toFixed(0) ?? '–', update?.p99.toFixed(0) ?? '–', joins > 0 ? `${joinShown.length}/${joins}` : '–', shown?.p50.toFixed(0) ?? '–', shown?.p99.toFixed(0) ?? '–', delay.p50.toFixed(1), delay.p99.toFixed(1)]);
};

try {
  console.log(`Observer page benchmark (Chromium ${bench.browser.version()}, node ${process.version}, private network namespace)`);
  console.log(`${STILL_MS / 1000} s still, then ${CHURN_MS / 1000} s of ${CHURN_PER_SECOND} joins and ${CHURN_PER_SECOND} leaves a second\n`);
  for (const population of POPULATIONS) {
    const clients = await joinHosts(bench.server.url, population);
    const context = await bench.browser.newContext({ viewport: { width: 1400, height: 1000 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    try {
      await page.goto(`${bench.server.url}/observer?perf`);
      await page.getByTestId('observer-host-count').filter({ hasText: String(population) }).waitFor({ timeout: 60_000 });
      await drain(page);
      const stillInput = await probing(page, () => new Promise((resolve) => setTimeout(resolve, STILL_MS)));
      row(population, 'still', await drain(page), stillInput);

      const churners: VirtualHost[] = [];
      const joinedAt = new Map<string, number>();
      const churnInput = await probing(page, async () => {
        const end = performance.now() + CHURN_MS;
        while (performance.now() < end) {
          const second = performance.now();
          for (let i = 0; i < CHURN_PER_SECOND; i++) {
            const host = await new VirtualHost(bench.server.url).join();
            joinedAt.set(host.hostId, Date.now());
            churners.push(host);
          }
          // The oldest churners leave: the population stays near its size.
          for (const leaving of churners.splice(0, Math.max(0, churners.length - CHURN_PER_SECOND))) leaving.close();
          await new Promise((resolve) => setTimeout(resolve, Math.max(0, 1000 - (performance.now() - second))));
        }
      });
      const shownAt = await page.evaluate(() => window.cubecastObserverPerf!.hostShownAt);
      const joinShown = [...joinedAt].flatMap(([hostId, at]) => (shownAt[hostId] === undefined ? [] : [shownAt[hostId] - at]));
      row(population, 'churn', await drain(page), churnInput, joinShown, joinedAt.size);
      for (const churner of churners) churner.close();
      if (errors.length > 0) throw new Error(`the page threw: ${errors.join('; ')}`);
    } finally {
      await context.close();
      // Closed before the channel goes: the child answers, and a reply into a closed channel is EPIPE.
      await ask(clients, 'close');
      clients.disconnect();
      await once(clients, 'exit');
    }
  }
  console.log(table(['hosts', 'phase', 'frame p50 ms', 'frame p99 ms', 'updates', 'update p50 ms', 'update p99 ms', 'joins shown', 'join shown p50 ms', 'join shown p99 ms', 'input p50 ms', 'input p99 ms'], rows, 2));
  console.log("\n60 Hz is a 16.7 ms frame. A join reaches the page in the next delta (the server sends one at most every 250 ms), then takes an update's latency. Still: nothing changes, so nothing is updated.");
} finally {
  await bench.close();
}
