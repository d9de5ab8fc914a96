import type { Page } from '@playwright/test';
import { expect, forceCube, openObserver, snapshot, test } from './fixtures.js';

test.use({ serverOptions: { roomAlgorithms: new Map([['services', 'sflow']]) } });

/** The sensor readings a tab's view of a channel holds, as [time, value]. */
async function readings(page: Page, channel: string): Promise<[number, number][]> {
  return JSON.parse((await page.locator(`[data-testid="sensor-view"][data-channel="${channel}"]`).getAttribute('data-history'))!) as [number, number][];
}

async function subscribeWith(page: Page, channel: string, pipeline: string): Promise<void> {
  const item = page.getByTestId('channel-list').locator(`li[data-channel="${channel}"]`);
  await expect(item).toBeVisible({ timeout: 15_000 });
  await item.getByTestId('pipeline-select').selectOption(pipeline);
  await item.getByTestId('max-latency-input').fill('2000');
  await item.getByTestId('subscribe-button').click();
  await expect.poll(async () => (await snapshot(page))?.subscriptions.some((s) => s.channel === channel)).toBe(true);
}

test('sFlow (iOverlay 3.3): the observer assigns services, and a two-stage requirement is federated across the two service hosts by bandwidth and load', async ({ tabs }) => {
  test.setTimeout(180_000);
  const publisher = await tabs.open('r/services');
  const fast = await tabs.open('r/services?total=1200');
  const slow = await tabs.open('r/services?total=800');
  const filtered = await tabs.open('r/services');
  const smoothed = await tabs.open('r/services');
  const observer = await openObserver(publisher, 'services', 'sflow');
  // Every tab linked to every other: five tabs on the 3-ary 3-cube.
  await forceCube(observer, tabs.pages, 3, 3, 4);
  const hostOf = async (page: Page) => (await snapshot(page))!.hostId!;
  const names = new Map([[await hostOf(publisher), 'publisher'], [await hostOf(fast), 'fast'], [await hostOf(slow), 'slow'], [await hostOf(filtered), 'filtered'], [await hostOf(smoothed), 'smoothed']]);

  // sAssign: service 3 (sensor) on the two service hosts, through each one's controls.
  for (const page of [fast, slow]) {
    const hostId = await hostOf(page);
    await observer.getByTestId('observer-host-select').selectOption(hostId);
    const controls = observer.locator('.host-controls');
    await controls.getByLabel('a', { exact: true }).fill('3');
    await controls.getByLabel('b', { exact: true }).fill('1');
    await controls.getByTestId('observer-host-algorithm-control').click();
    await expect(observer.getByText(`Sent (3, 1) to ${hostId}'s algorithm.`)).toBeVisible();
  }
  await observer.screenshot({ path: test.info().outputPath('sflow-observer.png'), fullPage: true });

  await publisher.getByTestId('channel-name-input').fill('meter');
  await publisher.getByTestId('publish-sensor-button').click();
  // The fast host smooths (1200 kbit/s, idle); with that stage its share halves (600), so the
  // slow one (800) filters. A second subscriber wanting only the smoothing shares the fast host.
  await subscribeWith(filtered, 'meter', 'smoothed-above-50');
  await subscribeWith(smoothed, 'meter', 'smoothed');
  const relaying = async (page: Page) => ((await snapshot(page))!.relaying.find((r) => r.channel === 'meter')?.to ?? []).map((hostId) => names.get(hostId)).sort();
  await expect.poll(async () => [await relaying(publisher), await relaying(fast), await relaying(slow)], { timeout: 30_000 }).toEqual([['fast'], ['slow', 'smoothed'], ['filtered']]);
  for (const page of [fast, slow]) await expect.poll(async () => (await snapshot(page))!.spas.map((spa) => [spa.pipeline, spa.state]), { timeout: 15_000 }).toEqual([[['sensor'], 'running']]);
  await expect.poll(async () => (await readings(filtered, 'meter')).length, { timeout: 30_000 }).toBeGreaterThan(10);
  await expect.poll(async () => (await readings(smoothed, 'meter')).length, { timeout: 30_000 }).toBeGreaterThan(10);
  // Filtered after smoothing: nothing under 50; the smoothed stream has readings under 50 too.
  expect((await readings(filtered, 'meter')).every(([, value]) => value >= 50)).toBe(true);
  await filtered.screenshot({ path: test.info().outputPath('sflow-subscriber.png') });
  await observer.close();
});
