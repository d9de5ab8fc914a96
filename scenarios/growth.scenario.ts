import { expect, subscriberSeries, test, type Tab } from '@cubecast/scenario';

/**
 * Tabs join one by one, from 2 to 16, while a webcam streams to every subscriber. Each join
 * can change the cube's shape: the server re-embeds the overlay (reembed markers), links are
 * torn down and made (the links plot steps), and subscribers keep decoding through it: none
 * stalls for more than 5 s, as the timeline shows.
 */
test('the overlay grows from 2 to 16 tabs during a stream', async ({ overlay }) => {
  test.setTimeout(10 * 60_000);
  const [publisher] = await overlay.open(1);
  await publisher!.publish('cam');
  const subscribers: Tab[] = [];
  for (let count = 2; count <= 16; count++) {
    const [tab] = await overlay.open(1);
    subscribers.push(tab!);
    await tab!.subscribe('cam', { maxLatencyMs: 2000 });
    await overlay.waitFor(`tab ${tab!.index} decodes`, (s) => (s.tabs[tab!.index]?.subscriptions[0]?.framesDecoded ?? 0) > 5, { timeoutMs: 60_000 });
  }
  overlay.mark('16 tabs');
  // Still flowing at the end: every subscriber decodes 10 more frames.
  const now = await overlay.waitFor('a sample of all', () => true);
  const before = new Map(subscribers.map((tab) => [tab.index, now.tabs[tab.index]!.subscriptions[0]!.framesDecoded]));
  const end = await overlay.waitFor('every subscriber decodes 10 more frames', (s) => subscribers.every((tab) => (s.tabs[tab.index]?.subscriptions[0]?.framesDecoded ?? 0) >= before.get(tab.index)! + 10), { timeoutMs: 30_000 });
  expect(end.server?.hosts).toBe(16);
  // From the recorded timeline: no subscriber's frames stood still for more than 5 s.
  for (const series of subscriberSeries(overlay.recorder.timeline)) expect(series.summary.longestStallMs, `tab ${series.tab} stalled`).toBeLessThanOrEqual(5000);
});
