import { cubeFacts } from './cube.js';
import { expect, framesDecoded, publishCamera, snapshots, subscribe, test } from './fixtures.js';

test('one tab publishes the fake camera, 8 subscribe: frames, hops and honest latency', async ({ tabs }) => {
  for (let i = 0; i < 9; i++) await tabs.open();
  const [publisher, ...subscribers] = tabs.pages;
  await publishCamera(publisher!, 'cam');
  for (const page of subscribers) await subscribe(page, 'cam', 1000);
  await expect
    .poll(async () => Math.min(...(await snapshots(subscribers)).map((s) => framesDecoded(s, 'cam'))), { timeout: 90_000, intervals: [1000] })
    .toBeGreaterThanOrEqual(60);
  const all = await snapshots(tabs.pages);
  const { hostHops } = cubeFacts(all);
  const publisherSnapshot = all[0]!;
  let farTabs = 0;
  for (const s of all.slice(1)) {
    const sub = s.subscriptions.find((x) => x.channel === 'cam')!;
    if (hostHops(publisherSnapshot, s) >= 2) {
      farTabs++;
      expect(sub.hops, `${s.hostId} is 2+ cube hops away`).toBeGreaterThanOrEqual(2);
    }
    // All tabs share one clock: the latency accumulated in headers must match the true one.
    expect(Math.abs(sub.latencyMs! - sub.trueLatencyMs!), `${s.hostId} latency ${sub.latencyMs} vs ${sub.trueLatencyMs}`).toBeLessThan(50);
  }
  expect(farTabs).toBeGreaterThan(0);
});
