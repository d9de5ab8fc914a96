/** What `cubecast scenario new NAME` writes: a scenario that runs as it is, to edit from. */
export function starterScenario(title: string): string {
  return `import { expect, test } from '@cubecast/scenario';

// Options for the whole file: server nodes (on Redis), NAT homes, a room and its algorithm, the
// recorder's tick. See docs/scenarios.md.
test.use({ overlayOptions: { tickMs: 500 } });

test(${JSON.stringify(title)}, async ({ overlay }) => {
  // A publisher at the origin of the emulated map, four subscribers 40 ms away.
  const [publisher] = await overlay.open(1, { position: [0, 0] });
  const subscribers = await overlay.open(4, { position: [40, 0] });
  await publisher!.publish('cam');
  for (const tab of subscribers) await tab.subscribe('cam', { maxLatencyMs: 400 });
  await overlay.waitFor('every subscriber decodes 30 frames', (sample) => subscribers.every((tab) => (sample.tabs[tab.index]?.subscriptions[0]?.framesDecoded ?? 0) >= 30), { timeoutMs: 60_000 });

  // One subscriber's machine dies; the others keep decoding.
  await subscribers[0]!.crash();
  overlay.mark('watching the survivors for 10 s');
  await new Promise((resolve) => setTimeout(resolve, 10_000));
  for (const tab of subscribers.slice(1)) expect(await tab.framesDecoded('cam')).toBeGreaterThan(30);
});
`;
}
