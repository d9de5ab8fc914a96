import type { Page } from '@playwright/test';
import { expect, forceCube, openObserver, snapshot, test, type Tabs } from './fixtures.js';

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

/**
 * Five tabs on the 3-ary 3-cube (every tab linked to every other); the observer assigns the
 * sensor service (sAssign: service 3) to two of them, through each one's controls, with total
 * bandwidths 1200 and 800 kbit/s; the publisher publishes a sensor channel `meter`.
 */
async function federation(tabs: Tabs) {
  const publisher = await tabs.open('r/services');
  const fast = await tabs.open('r/services?total=1200');
  const slow = await tabs.open('r/services?total=800');
  const first = await tabs.open('r/services');
  const second = await tabs.open('r/services');
  const observer = await openObserver(publisher, 'services', 'sflow');
  await forceCube(observer, tabs.pages, 3, 3, 4);
  const hostOf = async (page: Page) => (await snapshot(page))!.hostId!;
  const names = new Map([[await hostOf(publisher), 'publisher'], [await hostOf(fast), 'fast'], [await hostOf(slow), 'slow'], [await hostOf(first), 'first'], [await hostOf(second), 'second']]);
  for (const page of [fast, slow]) {
    const hostId = await hostOf(page);
    await observer.getByTestId('observer-host-select').selectOption(hostId);
    const controls = observer.locator('.host-controls');
    await controls.getByLabel('a', { exact: true }).fill('3');
    await controls.getByLabel('b', { exact: true }).fill('1');
    await controls.getByTestId('observer-host-algorithm-control').click();
    await expect(observer.getByText(`Sent (3, 1) to ${hostId}'s algorithm.`)).toBeVisible();
  }
  await publisher.getByTestId('channel-name-input').fill('meter');
  await publisher.getByTestId('publish-sensor-button').click();
  /** Where a tab sends the channel, by the names above. */
  const relaying = async (page: Page) => ((await snapshot(page))!.relaying.find((r) => r.channel === 'meter')?.to ?? []).map((hostId) => names.get(hostId)).sort();
  const spas = async (page: Page) => (await snapshot(page))!.spas.map((spa) => [spa.pipeline, spa.state]);
  return { publisher, fast, slow, first, second, observer, relaying, spas };
}

test('sFlow (iOverlay 3.3): the observer assigns services, and a two-stage requirement is federated across the two service hosts by bandwidth and load', async ({ tabs }) => {
  test.setTimeout(180_000);
  const { publisher, fast, slow, first: filtered, second: smoothed, observer, relaying, spas } = await federation(tabs);
  await observer.screenshot({ path: test.info().outputPath('sflow-observer.png'), fullPage: true });
  // The fast host smooths (1200 kbit/s, idle); with that stage its share halves (600), so the
  // slow one (800) filters, for the first subscriber. The second, wanting only the smoothing,
  // shares the fast host.
  await subscribeWith(filtered, 'meter', 'smoothed-above-50');
  await subscribeWith(smoothed, 'meter', 'smoothed');
  await expect.poll(async () => [await relaying(publisher), await relaying(fast), await relaying(slow)], { timeout: 30_000 }).toEqual([['fast'], ['second', 'slow'], ['first']]);
  for (const page of [fast, slow]) await expect.poll(() => spas(page), { timeout: 15_000 }).toEqual([[['sensor'], 'running']]);
  await expect.poll(async () => (await readings(filtered, 'meter')).length, { timeout: 30_000 }).toBeGreaterThan(10);
  await expect.poll(async () => (await readings(smoothed, 'meter')).length, { timeout: 30_000 }).toBeGreaterThan(10);
  // Filtered after smoothing: nothing under 50; the smoothed stream has readings under 50 too.
  expect((await readings(filtered, 'meter')).every(([, value]) => value >= 50)).toBe(true);
  await filtered.screenshot({ path: test.info().outputPath('sflow-subscriber.png') });
  await observer.close();
});

test('sFlow: a requirement that fans out and in: split at the publisher, each path through its own service hosts, merged at the subscriber', async ({ tabs }) => {
  test.setTimeout(180_000);
  const { publisher, fast, slow, first: subscriber, observer, relaying, spas } = await federation(tabs);
  await subscribeWith(subscriber, 'meter', 'split-smoothed-above-50');
  // The stream parts at the publisher: the fast host takes the first path; with it, its share
  // halves, and the slow host takes the second. Each runs the smoothing on its path, and the
  // filter of one path (the other's host being the better for it): both paths reach the
  // subscriber, one from each.
  await expect.poll(async () => [await relaying(publisher), await relaying(fast), await relaying(slow)], { timeout: 30_000 }).toEqual([['fast', 'slow'], ['first', 'slow'], ['fast', 'first']]);
  // The route is in the stats before the chunk that starts the split's pipeline: poll.
  await expect.poll(() => spas(publisher), { timeout: 15_000 }).toEqual([[['split'], 'running']]);
  for (const page of [fast, slow]) await expect.poll(() => spas(page), { timeout: 15_000 }).toEqual([[['sensor'], 'running'], [['sensor'], 'running']]);
  await expect.poll(() => spas(subscriber), { timeout: 15_000 }).toEqual([[['merge'], 'running']]);
  await expect.poll(async () => (await readings(subscriber, 'meter')).length, { timeout: 30_000 }).toBeGreaterThan(10);
  const got = await readings(subscriber, 'meter');
  expect(got.every(([, value]) => value >= 50)).toBe(true);
  // Merged in order: the readings' times only go forward.
  expect(got.every(([time], i) => i === 0 || time > got[i - 1]![0])).toBe(true);
  await subscriber.screenshot({ path: test.info().outputPath('sflow-split-subscriber.png'), fullPage: true });
  await fast.screenshot({ path: test.info().outputPath('sflow-split-service-host.png'), fullPage: true });
  await observer.close();
});
