import { expect, framesDecoded, publishCamera, snapshot, snapshots, subscribe, test } from './fixtures.js';

test('a relay tab closes mid-stream: every remaining subscriber decodes new frames within 5 s', async ({ tabs }) => {
  for (let i = 0; i < 9; i++) await tabs.open();
  const [publisher, ...subscribers] = tabs.pages;
  await publishCamera(publisher!, 'cam');
  for (const page of subscribers) await subscribe(page, 'cam', 1000);
  await expect.poll(async () => Math.min(...(await snapshots(subscribers)).map((s) => framesDecoded(s, 'cam'))), { timeout: 60_000 }).toBeGreaterThanOrEqual(20);

  // A relay: a subscriber that forwards the channel to another host.
  let relay = -1;
  await expect
    .poll(async () => {
      const all = await snapshots(subscribers);
      relay = all.findIndex((s) => s.relaying.some((r) => r.channel === 'cam' && r.to.length > 0));
      return relay;
    })
    .toBeGreaterThanOrEqual(0);
  const relayPage = subscribers[relay]!;
  const relayId = (await snapshot(relayPage))!.hostId;
  const remaining = subscribers.filter((p) => p !== relayPage);
  const before = (await snapshots(remaining)).map((s) => framesDecoded(s, 'cam'));
  const closedAt = Date.now();
  await relayPage.close();
  tabs.pages.splice(tabs.pages.indexOf(relayPage), 1);

  const resumedAfter: (number | undefined)[] = remaining.map(() => undefined);
  while (Date.now() - closedAt < 10_000 && resumedAfter.some((t) => t === undefined)) {
    const now = (await snapshots(remaining)).map((s) => framesDecoded(s, 'cam'));
    now.forEach((frames, i) => {
      // A few frames may still drain from queues: "resumed" means 5 beyond the count at close.
      if (resumedAfter[i] === undefined && frames >= before[i]! + 5) resumedAfter[i] = Date.now() - closedAt;
    });
    await new Promise((r) => setTimeout(r, 100));
  }
  console.log(`relay ${relayId} closed; subscribers resumed after (ms):`, resumedAfter);
  for (const [i, t] of resumedAfter.entries()) expect(t, `subscriber ${i} resumed`).toBeLessThanOrEqual(5000);
});
