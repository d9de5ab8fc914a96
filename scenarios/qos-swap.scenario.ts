import { expect, test, type Tab } from '@cubecast/scenario';

/**
 * The paper's QoS swap under emulated distance. A publisher at the origin of the emulated map,
 * eight tabs on a circle 150 ms away. One of them, two or more cube hops from the publisher,
 * moves beside it on the map and subscribes with a 100 ms bound: its route still crosses the
 * far side, so the bound is missed, until the server swaps its cube position next to the
 * publisher's (a swap marker); its latency then drops under the dashed bound line.
 */
test('a subscriber misses a tight bound, the server swaps it next to its publisher, and the bound is met', async ({ overlay }) => {
  test.setTimeout(5 * 60_000);
  const [publisher] = await overlay.open(1, { position: [0, 0] });
  const circle: Tab[] = [];
  for (let i = 0; i < 8; i++) {
    const angle = (i / 8) * 2 * Math.PI;
    circle.push(...(await overlay.open(1, { position: [Math.round(150 * Math.cos(angle)), Math.round(150 * Math.sin(angle))] })));
  }
  await publisher!.publish('cam');
  // Every link has measured the emulated delay.
  await overlay.waitFor('every link measured', async () => (await Promise.all(overlay.tabs.map((t) => t.snapshot()))).every((s) => s.links.length > 0 && s.links.every((l) => (l.rttMs ?? 0) > 100)), { timeoutMs: 60_000 });

  // The subscriber: the circle tab whose ids are farthest from the publisher's in the cube.
  const publisherIds = (await publisher!.snapshot()).ids;
  const hops = (a: string, b: string) => [...a].filter((digit, i) => digit !== b[i]).length;
  const distance = async (tab: Tab) => Math.min(...(await tab.snapshot()).ids.flatMap((id) => publisherIds.map((p) => hops(id, p))));
  const distances = await Promise.all(circle.map(distance));
  const subscriber = circle[distances.indexOf(Math.max(...distances))]!;
  expect(Math.max(...distances)).toBeGreaterThanOrEqual(2);
  await subscriber.setEmulation({ position: [3, 4] });
  await subscriber.subscribe('cam', { maxLatencyMs: 100 });
  await overlay.waitFor('the bound is missed', (s) => s.tabs[subscriber.index]?.subscriptions[0]?.boundMet === false, { timeoutMs: 60_000 });
  await overlay.waitFor('the bound is met after a swap', (s) => {
    const sub = s.tabs[subscriber.index]?.subscriptions[0];
    return sub?.boundMet === true && (sub.latencyMs ?? Infinity) < 100;
  }, { timeoutMs: 90_000 });
  expect(overlay.recorder.timeline.events.some((e) => e.type === 'swap')).toBe(true);
  // The report shows the latency settled under the bound on the new route.
  overlay.mark('bound met');
  await new Promise((resolve) => setTimeout(resolve, 5000));
});
