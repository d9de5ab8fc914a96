import { expect, test } from '@cubecast/scenario';

/**
 * iOverlay's network coding case study (Fig. 4) as the room's algorithm: eight tabs laid on
 * the 2-ary 3-cube, a sensor published at 000. The coder (011) sends a + b, so the helper
 * (111) decodes nothing while the decoders (101, 110) recover the stream they are not sent.
 * The report's frames-per-second plot shows the helper flat at zero until the observer's
 * control (0, 1) turns coding off (the `algorithm` marker), then rising.
 */
test.use({ overlayOptions: { room: 'butterfly', algorithm: 'coding' } });

test('network coding: the helper gets nothing while the decoders recover, until coding is turned off', async ({ overlay }) => {
  test.setTimeout(5 * 60_000);
  const tabs = await overlay.open(8);
  await overlay.reembed(2, 3, 3);
  const ids = await Promise.all(tabs.map(async (tab) => (await tab.snapshot()).ids[0]!));
  const role = (id: string) => tabs[ids.indexOf(id)]!;
  const source = role('000');
  const helper = role('111');
  const watchers = ['001', '010', '011', '101', '110'].map(role);
  await source.publish('meter', { kind: 'sensor' });
  for (const tab of [...watchers, helper]) await tab.subscribe('meter', { maxLatencyMs: 2000 });
  await overlay.waitFor('every watcher decodes 20 readings', (s) => watchers.every((tab) => (s.tabs[tab.index]?.subscriptions[0]?.framesDecoded ?? 0) >= 20), { timeoutMs: 60_000 });
  expect(await helper.framesDecoded('meter')).toBe(0);

  await overlay.controlAlgorithm(0, 1);
  await overlay.waitFor('the helper decodes once coding is off', (s) => (s.tabs[helper.index]?.subscriptions[0]?.framesDecoded ?? 0) > 20, { timeoutMs: 30_000 });
});
