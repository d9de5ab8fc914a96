import type { Page } from '@playwright/test';
import { expect, forceCube, framesDecoded, openObserver, snapshot, snapshots, subscribe, test } from './fixtures.js';

test.use({ serverOptions: { roomAlgorithms: new Map([['butterfly', 'coding']]) } });

/** The sensor readings a tab's view of a channel holds, as [time, value]. */
async function readings(page: Page, channel: string): Promise<[number, number][]> {
  return JSON.parse((await page.locator(`[data-testid="sensor-view"][data-channel="${channel}"]`).getAttribute('data-history'))!) as [number, number][];
}

test('network coding as the room\'s algorithm (iOverlay Fig. 4): the decoders recover the stream they are not sent, the helper gets none of it, and the observer turns coding off', async ({ tabs }) => {
  test.setTimeout(180_000);
  for (let i = 0; i < 8; i++) await tabs.open('r/butterfly');
  const observer = await openObserver(tabs.pages[0]!, 'butterfly', 'coding');
  // The butterfly's nine links are the 2-ary 3-cube's: the observer lays the eight tabs on it, one id each.
  await forceCube(observer, tabs.pages, 2, 3, 3);

  // Roles by id, relative to the source's (000): network-coding.ts's BUTTERFLY.
  const byId = new Map((await snapshots(tabs.pages)).map((s, i) => [s.ids[0]!, tabs.pages[i]!]));
  const role = (id: string) => byId.get(id)!;
  const [source, relayOfA, relayOfB, coder, helper, decoderOfB, decoderOfA] = ['000', '001', '010', '011', '111', '101', '110'].map(role) as [Page, Page, Page, Page, Page, Page, Page];

  await source.getByTestId('channel-name-input').fill('meter');
  await source.getByTestId('publish-sensor-button').click();
  for (const page of [relayOfA, relayOfB, coder, helper, decoderOfB, decoderOfA]) {
    await expect.poll(async () => (await snapshot(page))?.channels.some((c) => c.name === 'meter'), { timeout: 15_000 }).toBe(true);
    await subscribe(page, 'meter', 2000);
  }

  // Coding is on: the coder sends a + b only, so the helper decodes nothing; each decoder
  // gets one stream plain and recovers the other, reading for reading; each relay gets its one
  // stream. The coder gets both plain: its readings are the truth.
  const watchers = [relayOfA, relayOfB, coder, decoderOfB, decoderOfA];
  await expect.poll(async () => Math.min(...(await Promise.all(watchers.map(async (page) => (await readings(page, 'meter')).length)))), { timeout: 60_000 }).toBeGreaterThan(0);
  // Readings the coder got after every watcher's first, and long enough ago for the coded path
  // (the views keep the last 10 s).
  const since = Math.max(...(await Promise.all(watchers.map(async (page) => (await readings(page, 'meter'))[0]![0])))) + 1000;
  await expect.poll(async () => (await readings(coder, 'meter')).at(-1)![0] - since, { timeout: 30_000 }).toBeGreaterThan(6000);
  const truth = await readings(coder, 'meter');
  const settled = truth.filter(([t]) => t >= since && t <= truth.at(-1)![0] - 3000);
  const share = async (page: Page) => {
    const got = new Map(await readings(page, 'meter'));
    for (const [t, v] of settled) if (got.has(t)) expect(got.get(t)).toBe(v);
    return settled.filter(([t]) => got.has(t)).length / settled.length;
  };
  expect(settled.length).toBeGreaterThan(40);
  expect(await share(decoderOfA)).toBe(1);
  expect(await share(decoderOfB)).toBe(1);
  for (const relay of [relayOfA, relayOfB]) expect(await share(relay)).toBeCloseTo(0.5, 1);
  expect(framesDecoded((await snapshot(helper))!, 'meter')).toBe(0);
  await source.screenshot({ path: test.info().outputPath('coding-source.png') });
  await decoderOfB.screenshot({ path: test.info().outputPath('coding-decoder.png') });

  // Coding off (a = 0): the coder forwards both streams plain, and the helper decodes them too.
  await observer.getByLabel('a', { exact: true }).fill('0');
  await observer.getByLabel('b', { exact: true }).fill('1');
  await observer.getByTestId('observer-algorithm-control').click();
  await expect(observer.locator('.controls').getByText('Sent (0, 1) to the 8 hosts running coding.')).toBeVisible();
  await expect.poll(async () => framesDecoded((await snapshot(helper))!, 'meter'), { timeout: 30_000 }).toBeGreaterThan(20);
  await observer.screenshot({ path: test.info().outputPath('coding-observer.png') });
  await observer.close();
});
