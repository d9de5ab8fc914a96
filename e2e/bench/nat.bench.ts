/**
 * Across NATs: `npm run bench:nat` (root, Linux: inside the NAT test network of e2e/net).
 *
 * One tab publishes the fake camera (640x480, 30 fps, 800 kbit/s); a subscriber opens in
 * another tab, and its link to the publisher goes
 *   host:  both tabs in one home, on host candidates (the baseline);
 *   srflx: the tabs in two homes behind endpoint-independent NATs, on STUN-learned addresses;
 *   relay: the subscriber's home behind a symmetric NAT, through coturn.
 * Per route and round: connection set-up, from opening the subscriber's tab (join, link,
 * route, key frame) to its first decoded frame; then, over 6 s, the stream's latency as the
 * subscriber measures it (one machine, one clock: the true one), p50 and p99. And the link's
 * capacity: bench.html's engines in the same two homes, with the same ICE servers, flood
 * 64 KB chunks over the one link for 3 s (after a 2 s warm-up): MB/s. Three rounds per route,
 * medians reported, each beside the host route of the same run. Bounded: 10 minutes.
 */
import { summarize } from '@cubecast/overlay';
import { iceConfigurationFor } from '@cubecast/signaling-server';
import { table } from '@cubecast/bench-kit';
// The specs' page helpers: they drive the app as a person does, and work outside the test runner.
import { expect, framesDecoded, publishCamera, snapshot, subscribe } from '../fixtures.js';
import { startNatTestbed, type NatKind, type NatTestbed } from '@cubecast/scenario';
import { rtcConfiguration } from '@cubecast/peer/rtc';
import { benchApi, floodRate, wireLine, type BenchTab } from './bench-page-api.js';

const DEADLINE_MS = 10 * 60_000;
const ROUNDS = 3;
const SAMPLE_MS = 6000;

const watchdog = setTimeout(() => {
  console.error('bench:nat: still running after 10 minutes; stopping');
  process.exit(1);
}, DEADLINE_MS);

const ROUTES: { route: string; homes: NatKind[]; publisherHome: number; subscriberHome: number }[] = [
  { route: 'host', homes: ['eim'], publisherHome: 1, subscriberHome: 1 },
  { route: 'srflx', homes: ['eim', 'eim'], publisherHome: 1, subscriberHome: 2 },
  { route: 'relay', homes: ['eim', 'symmetric'], publisherHome: 1, subscriberHome: 2 },
];

const FLOOD_BYTES = 64 * 1024;

/** MB/s over one link between bench pages in homes `from` and `to`, and the route it took. */
async function capacity(testbed: NatTestbed, from: number, to: number): Promise<{ mbps: number[]; route: string }> {
  const pages = await Promise.all(
    [from, to].map(async (home) => {
      const browser = await testbed.network.homes[home - 1]!.launchBrowser();
      const page = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
      await page.goto(`${testbed.server.url}/bench.html`);
      await page.waitForFunction(() => 'bench' in window);
      return benchApi(page);
    }),
  );
  const [sender, receiver] = pages as [BenchTab, BenchTab];
  const configuration = rtcConfiguration(iceConfigurationFor(testbed.ice, 'bench/t0', Date.now()));
  for (const page of pages) await page.call('ice', configuration);
  await wireLine(pages);
  const flood = (ms: number) => floodRate(sender, receiver, FLOOD_BYTES, ms);
  await flood(2000);
  const mbps: number[] = [];
  for (let i = 0; i < ROUNDS; i++) mbps.push(await flood(3000));
  const route = Object.values(await sender.call('routes'))[0];
  return { mbps, route: route ? `${route.local}-${route.remote}` : 'none' };
}

const results: { route: string; setupMs: number[]; p50: number[]; p99: number[]; seen: Set<string>; mbps: number[]; benchRoute: string }[] = [];
for (const { route, homes, publisherHome, subscriberHome } of ROUTES) {
  process.stderr.write(`${route}...\n`);
  const testbed = await startNatTestbed(homes);
  const result = { route, setupMs: [] as number[], p50: [] as number[], p99: [] as number[], seen: new Set<string>(), mbps: [] as number[], benchRoute: '' };
  results.push(result);
  try {
    const publisher = await testbed.open(publisherHome);
    await publishCamera(publisher, 'cam');
    for (let round = 0; round < ROUNDS; round++) {
      const opened = performance.now();
      const subscriber = await testbed.open(subscriberHome);
      await subscribe(subscriber, 'cam', 1000);
      await expect.poll(async () => framesDecoded((await snapshot(subscriber))!, 'cam'), { timeout: 60_000, intervals: [50] }).toBeGreaterThan(0);
      result.setupMs.push(performance.now() - opened);
      const latencies: number[] = [];
      for (const end = performance.now() + SAMPLE_MS; performance.now() < end; ) {
        const s = (await snapshot(subscriber))!;
        const latency = s.subscriptions[0]?.latencyMs;
        if (latency !== null && latency !== undefined) latencies.push(latency);
        for (const link of s.links) if (link.route) result.seen.add(link.route);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const summary = summarize(latencies);
      result.p50.push(summary.p50);
      result.p99.push(summary.p99);
      await subscriber.context().close();
    }
    await publisher.context().close();
    const measured = await capacity(testbed, publisherHome, subscriberHome);
    result.mbps = measured.mbps;
    result.benchRoute = measured.route;
  } finally {
    await testbed.close();
  }
}
clearTimeout(watchdog);

const median = (values: number[]) => summarize(values).p50;
const signedMs = (ms: number) => `${ms >= 0 ? '+' : ''}${ms.toFixed(1)} ms`;
const host = results[0]!;
console.log(`Across NATs (node ${process.version}; ${ROUNDS} rounds per route, medians; one tab publishing the fake camera, one subscribing)\n`);
console.log(
  table(
    ['route', 'routes seen', 'set-up ms (join to first frame)', 'vs host', 'latency p50 ms', 'p99 ms', 'p50 vs host', 'link MB/s (pair)', 'vs host'],
    results.map((r) => [
      r.route,
      [...r.seen].join(' '),
      median(r.setupMs).toFixed(0),
      r === host ? 'baseline' : `${(median(r.setupMs) / median(host.setupMs)).toFixed(2)}x`,
      median(r.p50).toFixed(1),
      median(r.p99).toFixed(1),
      r === host ? 'baseline' : signedMs(median(r.p50) - median(host.p50)),
      `${median(r.mbps).toFixed(1)} (${r.benchRoute})`,
      r === host ? 'baseline' : `${(median(r.mbps) / median(host.mbps)).toFixed(2)}x`,
    ]),
    2,
  ),
);
console.log('\nrounds (set-up ms; link MB/s):', results.map((r) => `${r.route} ${r.setupMs.map((v) => v.toFixed(0)).join('/')}; ${r.mbps.map((v) => v.toFixed(1)).join('/')}`).join('  '));
