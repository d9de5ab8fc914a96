import { expect, test, type Tab } from '@cubecast/scenario';

/**
 * Nine tabs watch one webcam; the relay forwarding to the most subscribers crashes (its
 * renderer dies: no goodbye). The report shows the failure on the time axis, the subscribers
 * it fed stalling for a moment, and their latency coming back under the bound on new routes.
 */
test('a relay crashes mid-stream, and every subscriber it fed resumes', async ({ overlay }) => {
  const [publisher] = await overlay.open(1);
  const subscribers = await overlay.open(8);
  await publisher!.publish('cam');
  for (const tab of subscribers) await tab.subscribe('cam', { maxLatencyMs: 400 });
  await overlay.waitFor('every subscriber decodes 20 frames', (sample) => subscribers.every((tab) => (sample.tabs[tab.index]?.subscriptions[0]?.framesDecoded ?? 0) >= 20), { timeoutMs: 60_000 });

  // The relay: the subscriber forwarding the stream to the most hosts.
  const sample = await overlay.waitFor('a subscriber relays the stream', (s) => subscribers.some((tab) => (s.tabs[tab.index]?.relaying[0]?.to.length ?? 0) > 0));
  const fanOut = (tab: Tab) => sample.tabs[tab.index]?.relaying.find((r) => r.channel === 'cam')?.to.length ?? 0;
  const relay = subscribers.reduce((best, tab) => (fanOut(tab) > fanOut(best) ? tab : best));
  const survivors = subscribers.filter((tab) => tab !== relay);
  await relay.crash();

  // Every survivor decodes new frames within 5 s: 5 beyond what it had when the relay died
  // (a frame or two may still drain from a queue).
  const before = new Map(survivors.map((tab) => [tab.index, sample.tabs[tab.index]!.subscriptions[0]!.framesDecoded]));
  await overlay.waitFor('every survivor decodes again', (s) => survivors.every((tab) => (s.tabs[tab.index]?.subscriptions[0]?.framesDecoded ?? 0) >= before.get(tab.index)! + 5), { timeoutMs: 5000 });
  overlay.mark('all resumed');
  await new Promise((resolve) => setTimeout(resolve, 5000));
  for (const tab of survivors) expect((await tab.snapshot()).subscriptions[0]!.boundMet).not.toBe(false);
});
