import { summarize } from '@cubecast/overlay';
import { LIMITS } from '@cubecast/protocol';
import { expect, framesDecoded, snapshots, streamToAll, test } from './fixtures.js';
import { UdpLoss } from './net/udp-loss.js';

const WINDOW_MS = 10_000;

/** Each subscriber's frames decoded over the window, and the true latencies sampled every 250 ms. */
async function watch(pages: Parameters<typeof snapshots>[0]) {
  const before = (await snapshots(pages)).map((s) => framesDecoded(s, 'cam'));
  const latencies: number[][] = pages.map(() => []);
  for (const end = Date.now() + WINDOW_MS; Date.now() < end; ) {
    (await snapshots(pages)).forEach((s, i) => {
      const latency = s.subscriptions.find((x) => x.channel === 'cam')?.trueLatencyMs;
      if (latency !== null && latency !== undefined) latencies[i]!.push(latency);
    });
    await new Promise((r) => setTimeout(r, 250));
  }
  const after = (await snapshots(pages)).map((s) => framesDecoded(s, 'cam'));
  return after.map((frames, i) => ({ frames: frames - before[i]!, p99: summarize(latencies[i]!).p99 }));
}

test('10% real UDP loss on every hop: every subscriber keeps decoding, in time', async ({ tabs }) => {
  const loss = new UdpLoss();
  try {
    const { subscribers } = await streamToAll(tabs, 5);
    const lossless = await watch(subscribers);
    loss.set(0.1);
    const lossy = await watch(subscribers);
    // The stream's links measured the loss and were widened to stripes (one peer connection each).
    const widened = (await snapshots(subscribers)).flatMap((s) => s.links.filter((l) => l.receivedKbps > 100).map((l) => l.stripes));
    console.log('stripes of the links carrying the stream to subscribers:', JSON.stringify(widened));
    expect(widened.length).toBeGreaterThan(0);
    expect(Math.min(...widened), 'stripes of each link carrying the stream').toBe(LIMITS.maxStripesPerLink);
    console.log('frames and true-latency p99 per subscriber, lossless:', JSON.stringify(lossless), '10% loss:', JSON.stringify(lossy));
    const hops = (await snapshots(subscribers)).map((s) => s.subscriptions.find((x) => x.channel === 'cam')!.hops);
    expect(Math.max(...(hops as number[]))).toBeGreaterThanOrEqual(2);
    lossy.forEach((during, i) => {
      // With per-hop FEC, measured: 100-109% of the lossless frames in every run; p99 (the
      // slowest of 40 samples) 5-11 ms in one run, 7-313 ms in another (before FEC: 78-107%,
      // up to 206 ms). The latency bound leaves room for that spread on a slow machine.
      expect(during.frames, `subscriber ${i}: frames at 10% loss against lossless`).toBeGreaterThanOrEqual(0.85 * lossless[i]!.frames);
      expect(during.p99, `subscriber ${i}: true latency p99 at 10% loss (bound 1000 ms; lossless, under 15 ms)`).toBeLessThan(500);
    });
  } finally {
    loss.set(0);
  }
});
