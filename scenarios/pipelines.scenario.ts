import { expect, test } from '@cubecast/scenario';

/**
 * One webcam, three subscribers: the full stream, the thinning SPA (base layer only: a
 * quarter of the frame rate) and the grayscale-and-halve SPA, each run at a branch point of
 * the tree. The frames-per-second plot shows the thinned subscriber at about a quarter of the
 * others; the latency plot shows what each pipeline costs against its bound.
 */
test('thinning and grayscale pipelines beside the full stream', async ({ overlay }) => {
  test.setTimeout(5 * 60_000);
  const [publisher, full, thinned, gray] = await overlay.open(4);
  await publisher!.publish('cam');
  await full!.subscribe('cam', { maxLatencyMs: 500 });
  await thinned!.subscribe('cam', { maxLatencyMs: 500, pipeline: 'low-fps' });
  await gray!.subscribe('cam', { maxLatencyMs: 500, pipeline: 'gray-small' });
  const subscribers = [full!, thinned!, gray!];
  await overlay.waitFor('every subscriber decodes 10 frames', (s) => subscribers.every((tab) => (s.tabs[tab.index]?.subscriptions[0]?.framesDecoded ?? 0) >= 10), { timeoutMs: 60_000 });
  overlay.mark('measuring 15 s');
  const start = await overlay.waitFor('a sample', () => true);
  await new Promise((resolve) => setTimeout(resolve, 15_000));
  const end = await overlay.waitFor('a sample', () => true);
  const frames = (tab: (typeof subscribers)[number]) => end.tabs[tab.index]!.subscriptions[0]!.framesDecoded - start.tabs[tab.index]!.subscriptions[0]!.framesDecoded;
  expect(end.tabs[thinned!.index]!.subscriptions[0]!.pipeline).toEqual(['thin']);
  expect(end.tabs[gray!.index]!.subscriptions[0]!.pipeline).toEqual(['pixels']);
  // The base layer of L1T3 is one frame in four.
  expect(frames(thinned!)).toBeLessThan(0.4 * frames(full!));
  expect(frames(gray!)).toBeGreaterThan(0.7 * frames(full!));
});
