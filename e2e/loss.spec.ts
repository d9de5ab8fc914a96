import { summarize } from '@cubecast/overlay';
import { LIMITS } from '@cubecast/protocol';
import { expect, framesDecoded, snapshots, streamToAll, test } from './fixtures.js';
import { UdpLoss } from '@cubecast/scenario';

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

/** Stripes of each link carrying the stream to a subscriber (seen from the subscriber). */
async function streamLinkStripes(pages: Parameters<typeof snapshots>[0]): Promise<number[]> {
  return (await snapshots(pages)).flatMap((s) => s.links.filter((l) => l.receivedKbps > 100).map((l) => l.stripes));
}

test('10% real UDP loss on every hop: the links widen, and every subscriber keeps decoding, in time', async ({ tabs }) => {
  const loss = new UdpLoss();
  try {
    const { subscribers } = await streamToAll(tabs, 5);
    const lossless = await watch(subscribers);
    // Nothing lost, nothing widened.
    const unwidened = await streamLinkStripes(subscribers);
    expect(unwidened.length).toBeGreaterThan(0);
    expect(Math.max(...unwidened)).toBe(1);
    loss.set(0.1);
    const lossStarted = Date.now();
    // The stream's links measure the loss and are widened to stripes, one peer connection each.
    await expect.poll(async () => Math.min(...(await streamLinkStripes(subscribers))), { timeout: 30_000 }).toBe(LIMITS.maxStripesPerLink);
    console.log(`every link carrying the stream had ${LIMITS.maxStripesPerLink} stripes ${Date.now() - lossStarted} ms after the loss began`);
    const lossy = await watch(subscribers);
    console.log('frames and true-latency p99 per subscriber, lossless:', JSON.stringify(lossless), '10% loss, widened:', JSON.stringify(lossy));
    const hops = (await snapshots(subscribers)).map((s) => s.subscriptions.find((x) => x.channel === 'cam')!.hops);
    expect(Math.max(...(hops as number[]))).toBeGreaterThanOrEqual(2);
    lossy.forEach((during, i) => {
      // Widened, measured in five runs: 86-110% of the lossless frames, p99 (the slowest of 40
      // samples) 4-18 ms, once 56 ms. One association per link took 103-210 ms over one hop
      // and 306-406 over two (issue 17's own measurement, before FEC). The bound leaves room
      // for a slow machine.
      expect(during.frames, `subscriber ${i}: frames at 10% loss against lossless`).toBeGreaterThanOrEqual(0.8 * lossless[i]!.frames);
      expect(during.p99, `subscriber ${i}: true latency p99 at 10% loss, widened (lossless, under 17 ms)`).toBeLessThan(120);
    });
  } finally {
    loss.set(0);
  }
});
