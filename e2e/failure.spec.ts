import { expect, framesDecoded, resumeTimes, snapshot, snapshots, streamToAll, test } from './fixtures.js';

test('a relay tab closes mid-stream: every remaining subscriber, those it relayed to by name, decodes new frames within 5 s', async ({ tabs, server }) => {
  const { subscribers } = await streamToAll(tabs, 9);

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
  const relaySnapshot = (await snapshot(relayPage))!;
  const relayId = relaySnapshot.hostId!;
  const downstream = relaySnapshot.relaying.find((r) => r.channel === 'cam')!.to;
  const remaining = subscribers.filter((p) => p !== relayPage);
  const names = (await snapshots(remaining)).map((s) => s.hostId!);
  // Those it relayed to are subscribers still here (the publisher never subscribes).
  expect(downstream.every((hostId) => names.includes(hostId)), `relay ${relayId} forwards to ${downstream}`).toBe(true);
  const closedAt = Date.now();
  await relayPage.close();
  tabs.pages.splice(tabs.pages.indexOf(relayPage), 1);
  // Frames counted only once the server has dropped the relay: none can still come through it.
  await expect.poll(() => server.controller.hasHost(relayId), { timeout: 10_000 }).toBe(false);
  const before = (await snapshots(remaining)).map((s) => framesDecoded(s, 'cam'));

  const resumedAfter = await resumeTimes(remaining, 'cam', before, closedAt, 10_000);
  console.log(`relay ${relayId} (to ${downstream}) closed; subscribers resumed after (ms):`, Object.fromEntries(names.map((n, i) => [n, resumedAfter[i]])));
  for (const hostId of downstream) expect(resumedAfter[names.indexOf(hostId)], `${hostId}, downstream of the relay, resumed`).toBeLessThanOrEqual(5000);
  for (const [i, t] of resumedAfter.entries()) expect(t, `${names[i]} resumed`).toBeLessThanOrEqual(5000);
});
