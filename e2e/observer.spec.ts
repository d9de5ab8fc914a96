import type { Page } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { cubeFacts } from './cube.js';
import { ADMIN_TOKEN, expect, publishCamera, publisherAndCircle, snapshot, snapshots, startTestServer, subscribe, test, type Snapshot } from './fixtures.js';

type ObserverView = NonNullable<Window['cubecastObserver']>;

/** CUBECAST_SCREENSHOTS=<dir>: the states a person meets, saved there (docs/images holds the README's). */
async function shoot(page: Page, name: string, fullPage = false): Promise<void> {
  const dir = process.env.CUBECAST_SCREENSHOTS;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  // Past the slide of a swap or a re-embedding: the picture as it settles.
  await page.waitForTimeout(600);
  await page.screenshot({ path: join(dir, `observer-${name}.png`), fullPage });
}

const view = (page: Page) => page.evaluate(() => window.cubecastObserver);

/** Each tab's open links, as the tab sees them, and as the observer page shows that host's. */
function linkViews(tabs: Snapshot[], observed: ObserverView) {
  const fromTabs = Object.fromEntries(tabs.map((s) => [s.hostId!, s.links.filter((l) => l.state === 'open').map((l) => l.hostId).sort()]));
  const fromPage = Object.fromEntries(observed.hosts.map((h) => [h.hostId, h.links.filter((l) => l.state === 'open').map((l) => l.hostId).sort()]));
  return { fromTabs, fromPage };
}

test('the observer page shows nine tabs, their links and a channel tree, follows a leave, and is never a host', async ({ tabs, server, browser }) => {
  for (let i = 0; i < 9; i++) await tabs.open(`?name=tab${i}`);
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(`${server.url}/observer`);
  await expect(page.getByTestId('observer-host-count')).toHaveText('9');
  await expect(page.getByTestId('observer-algorithm')).toHaveText('cube');
  await expect(page.getByTestId('observer-swaps')).toHaveText('depth rule, up to 2 hops');
  await expect(page.getByTestId('observer-graph')).toBeVisible();
  // Every link each tab has open, the page shows, and no more.
  await expect
    .poll(async () => {
      const { fromTabs, fromPage } = linkViews(await snapshots(tabs.pages), (await view(page))!);
      return JSON.stringify(fromPage) === JSON.stringify(fromTabs) && Object.values(fromTabs).every((l) => l.length > 0);
    })
    .toBe(true);
  expect(server.controller.store.hosts.size).toBe(9);
  expect((await view(page))!.hosts.map((h) => h.name).sort()).toEqual([...Array(9).keys()].map((i) => `tab${i}`));

  // A channel: its tree from the publisher to a subscriber, and the bound met.
  await publishCamera(tabs.pages[0]!, 'cam');
  await subscribe(tabs.pages[8]!, 'cam', 2000);
  const subscriber = (await snapshot(tabs.pages[8]!))!.hostId!;
  await expect.poll(async () => (await view(page))!.channels.find((c) => c.name === 'cam')?.subscribers.find((s) => s.hostId === subscriber)?.boundMet).toBe(true);
  await page.getByTestId('observer-channel-select').selectOption('cam');
  await expect(page.getByTestId('observer-details')).toContainText(/met \(2000 ms\)/);
  // The tree as the relays report it (every few seconds): some host forwards the channel to the subscriber.
  await expect.poll(async () => (await view(page))!.channels.find((c) => c.name === 'cam')!.tree.some((e) => e.to === subscriber), { timeout: 20_000 }).toBe(true);
  await shoot(page, 'channel-tree');

  // A host picked, then one of its links: the link's throughput and RTT over time.
  await page.getByTestId('observer-channel-select').selectOption('');
  await page.getByTestId('observer-host-select').selectOption(subscriber);
  await page.getByTestId('observer-host-links').getByRole('button').first().click();
  await expect(page.getByTestId('observer-link-chart')).toBeVisible();
  await shoot(page, 'link');

  // A tab closes: the page shows the leave and the topology without it.
  const leaving = (await snapshot(tabs.pages[5]!))!.hostId!;
  await tabs.pages[5]!.close();
  tabs.pages.splice(5, 1);
  await expect(page.getByTestId('observer-host-count')).toHaveText('8');
  await expect(page.getByTestId('observer-event-log').locator('li[data-type="leave"]', { hasText: leaving })).toBeVisible();
  await expect
    .poll(async () => {
      const { fromTabs, fromPage } = linkViews(await snapshots(tabs.pages), (await view(page))!);
      return JSON.stringify(fromPage) === JSON.stringify(fromTabs);
    })
    .toBe(true);
  expect(server.controller.store.hosts.size).toBe(8);
  await shoot(page, 'overview', true);
  await context.close();
  expect(errors).toEqual([]);
});

test('controls say why they are off, refuse a wrong token, and answer with the result given the admin token; a swap shows its latency before and after', async ({ tabs, server, browser }) => {
  // The publisher at the origin of the emulated map; everyone else on a circle 150 ms away.
  await publisherAndCircle(tabs);

  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const page = await context.newPage();
  await page.goto(`${server.url}/observer`);
  await expect(page.getByTestId('observer-host-count')).toHaveText('9');
  // Without a token: disabled, and why.
  await expect(page.getByTestId('observer-controls-disabled')).toContainText('connected without the admin token: view only');
  await expect(page.getByTestId('observer-policy-select')).toBeDisabled();
  // A wrong one: still disabled.
  await page.getByTestId('observer-token-input').fill('not-the-token');
  await page.getByTestId('observer-token-input').press('Enter');
  await expect(page.getByTestId('observer-status')).toHaveText('live');
  await expect(page.getByTestId('observer-controls-disabled')).toBeVisible();
  await shoot(page, 'controls-disabled');

  await page.getByTestId('observer-token-input').fill(ADMIN_TOKEN);
  await page.getByTestId('observer-token-input').press('Enter');
  await expect(page.getByTestId('observer-controls-disabled')).toBeHidden();
  await page.getByTestId('observer-policy-select').selectOption('odr');
  await expect(page.locator('.controls').getByTestId('observer-control-answer')).toHaveText('Routing policy is now odr.');
  await expect(page.locator('.facts-inline')).toContainText('policy odr');
  expect(server.controller.store.policy).toBe('odr');

  // A subscriber two or more cube hops from the publisher, moved beside it on the map by the page's own control.
  const all = await snapshots(tabs.pages);
  const { hostHops } = cubeFacts(all);
  const index = all.findIndex((s, i) => i > 0 && hostHops(all[0]!, s) >= 2);
  expect(index).toBeGreaterThan(0);
  const hostId = all[index]!.hostId!;
  await subscribe(tabs.pages[index]!, 'cam', 2000);
  await page.getByTestId('observer-host-select').selectOption(hostId);
  const details = page.getByTestId('observer-details');
  await details.getByLabel('x').fill('3');
  await details.getByLabel('y').fill('4');
  await page.getByTestId('observer-emulate').click();
  await expect(details.getByTestId('observer-control-answer')).toContainText(`${hostId} now emulates`);
  // The server learns the new distance from the links' RTTs (reported every few seconds); until
  // then a check finds nothing nearer and says so; then it moves the subscriber.
  const answers: string[] = [];
  await expect
    .poll(
      async () => {
        await page.getByTestId('observer-swap-check').click();
        await expect(details.getByTestId('observer-control-answer')).toBeVisible();
        answers.push((await details.getByTestId('observer-control-answer').textContent()) ?? '');
        return answers.at(-1);
      },
      { timeout: 90_000, intervals: [2000] },
    )
    .toMatch(/swapped with h\w+, estimated [\d.]+ → [\d.]+ ms/)
    .catch((error: Error) => {
      throw new Error(`${error.message}\nswap check answers: ${answers.join(' | ')}`);
    });
  expect(answers.slice(0, -1).every((a) => a === '"cam": no swap brings it nearer.')).toBe(true);
  await expect(page.getByTestId('observer-event-log').locator('li[data-type="swap"]', { hasText: hostId }).getByTestId('observer-swap-latency')).toHaveText(/estimated [\d.]+ → [\d.]+ ms/);
  // How deep the swap went, and the planner's reach.
  await expect(page.getByTestId('observer-event-log').locator('li[data-type="swap"]', { hasText: hostId })).toContainText(/a position \d hops? from the publisher \(depth rule, up to 2 hops\)/);
  await shoot(page, 'swap');

  // Disconnect: the host is gone from the page.
  const victim = all[1]!.hostId!;
  await page.getByTestId('observer-host-select').selectOption(victim);
  await page.getByTestId('observer-disconnect').click();
  // The answer, or (once the feed says so, which may come first) the host gone from the details.
  await expect(details).toContainText(new RegExp(`${victim} was disconnected|${victim} is no longer in the overlay`));
  await expect.poll(async () => (await view(page))!.hosts.some((h) => h.hostId === victim)).toBe(false);
  await context.close();
});

test('with an observer token set, the page asks for it, and shows the overlay once given', async ({ browser }) => {
  const server = await startTestServer(0, undefined, { observerToken: 'peek' });
  try {
    const page = await browser.newPage();
    await page.goto(`${server.url}/observer`);
    await expect(page.getByRole('alert')).toContainText('watching this server needs the observer token');
    await shoot(page, 'token-needed');
    await page.getByTestId('observer-token-input').fill('peek');
    await page.getByTestId('observer-token-input').press('Enter');
    await expect(page.getByTestId('observer-status')).toHaveText('live');
    await expect(page.getByTestId('observer-host-count')).toHaveText('0');
    await expect(page.getByText('No host is in this room yet.')).toBeVisible();
    await page.close();
  } finally {
    await server.close();
  }
});
