import { test } from '@cubecast/scenario';

// The kit's own test of a failing scenario (e2e/scenario-kit.spec.ts): it streams, then waits for what never comes.
test('a scenario that fails', async ({ overlay }) => {
  const [publisher, subscriber] = await overlay.open(2);
  await publisher!.publish('cam');
  await subscriber!.subscribe('cam', { maxLatencyMs: 1000 });
  await overlay.waitFor('a frame from a channel nobody publishes', (s) => (s.tabs[subscriber!.index]?.subscriptions.find((x) => x.channel === 'nothing')?.framesDecoded ?? 0) > 0, { timeoutMs: 3000 });
});
