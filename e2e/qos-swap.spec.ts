import { type Ack, type ObserverEvent } from '@cubecast/protocol';
import { io } from 'socket.io-client';
import { cubeFacts } from './cube.js';
import { ADMIN_TOKEN, expect, publisherAndCircle, snapshot, snapshots, subscribe, test } from './fixtures.js';

test('a subscriber misses a tight bound, the server swaps it next to its publisher, the bound is met', async ({ tabs, server }) => {
  // The publisher at the origin of the emulated map; everyone else on a circle 150 ms away.
  await publisherAndCircle(tabs);

  // The subscriber: two or more cube hops from the publisher, then moved (an observer control)
  // to sit right beside it on the map. Its route still crosses the far side of the map.
  const all = await snapshots(tabs.pages);
  const { hostHops } = cubeFacts(all);
  const index = all.findIndex((s, i) => i > 0 && hostHops(all[0]!, s) >= 2);
  expect(index).toBeGreaterThan(0);
  const page = tabs.pages[index]!;
  const hostId = all[index]!.hostId!;
  const observer = io(`${server.url}/observer`, { transports: ['websocket'], forceNew: true, reconnection: false, auth: { token: ADMIN_TOKEN } });
  const events: ObserverEvent[] = [];
  observer.on('observer:event', (e: ObserverEvent) => events.push(e));
  const moved = (await observer.timeout(5000).emitWithAck('control:emulation', { hostId, emulation: { position: [3, 4] } })) as Ack;
  expect(moved.ok).toBe(true);

  await subscribe(page, 'cam', 100);
  // First the bound is missed...
  await expect.poll(async () => (await snapshot(page))!.subscriptions[0]?.boundMet, { timeout: 60_000 }).toBe(false);
  const missed = (await snapshot(page))!.subscriptions[0]!;
  console.log(`before the swap: ${missed.latencyMs?.toFixed(1)} ms over ${missed.hops} hops (bound 100 ms)`);
  // ...then the server swaps the subscriber nearer the publisher, and the bound holds.
  await expect.poll(() => events.some((e) => e.type === 'swap' && e.hostId === hostId), { timeout: 60_000 }).toBe(true);
  await expect
    .poll(async () => {
      const s = (await snapshot(page))!.subscriptions[0]!;
      return s.boundMet === true && s.latencyMs! < 100;
    }, { timeout: 60_000 })
    .toBe(true);
  const met = (await snapshot(page))!.subscriptions[0]!;
  console.log(`after the swap: ${met.latencyMs?.toFixed(1)} ms over ${met.hops} hops`);
  console.log(events.filter((e) => e.type === 'swap').map((e) => e.message).join('\n'));
  observer.close();
});
