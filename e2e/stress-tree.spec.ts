import type { Page } from '@playwright/test';
import { ADMIN_TOKEN, expect, framesDecoded, snapshot, snapshots, subscribe, test } from './fixtures.js';

test.use({ serverOptions: { roomAlgorithms: new Map([['trees', 'stress-tree']]) } });

/** The paper's five nodes (seed 004, Fig. 5) with their total bandwidths, KBps. */
const NODES = { S: 200, A: 500, B: 100, C: 200, D: 100 } as const;
type Node = keyof typeof NODES;

test('node-stress-aware trees (iOverlay Fig. 5): five tabs with the paper\'s bandwidths joining in its order build its tree, and every tab gets the stream', async ({ tabs }) => {
  test.setTimeout(180_000);
  const page = {} as Record<Node, Page>;
  for (const node of Object.keys(NODES) as Node[]) page[node] = await tabs.open(`r/trees?total=${NODES[node] * 8}`);
  const observer = await page.S.context().newPage();
  await observer.goto(new URL('/r/trees/observer', page.S.url()).href);
  await expect(observer.getByTestId('observer-algorithm')).toHaveText('stress-tree');
  await observer.getByTestId('observer-token-input').fill(ADMIN_TOKEN);
  await observer.getByTestId('observer-token-input').press('Enter');
  // A tree may join any two of the five: on the 3-ary 3-cube each tab has 5 or 6 ids, and a link to every other.
  await observer.getByLabel('k', { exact: true }).fill('3');
  await observer.getByLabel('n', { exact: true }).fill('3');
  await observer.getByTestId('observer-reembed').click();
  await expect(observer.locator('.controls').getByText(/^Re-embedded into the 3-ary 3-cube/)).toBeVisible();
  await expect
    .poll(async () => (await snapshots(tabs.pages)).every((s) => s.cube?.k === 3 && s.cube.n === 3 && s.links.filter((l) => l.state === 'open').length === 4), { timeout: 30_000 })
    .toBe(true);
  const hostOf = Object.fromEntries(await Promise.all((Object.keys(NODES) as Node[]).map(async (node) => [(await snapshot(page[node]))!.hostId!, node] as const)));

  await page.S.getByTestId('channel-name-input').fill('meter');
  await page.S.getByTestId('publish-sensor-button').click();
  // The paper's join order, one refresh apart: each joiner's query sees the stresses as they are.
  for (const node of ['D', 'A', 'C', 'B'] as const) {
    await expect.poll(async () => (await snapshot(page[node]))?.channels.some((c) => c.name === 'meter'), { timeout: 15_000 }).toBe(true);
    await subscribe(page[node], 'meter', 2000);
    await expect.poll(async () => framesDecoded((await snapshot(page[node]))!, 'meter'), { timeout: 30_000 }).toBeGreaterThan(0);
    await page[node].waitForTimeout(2500);
  }
  const children = async (node: Node) => ((await snapshot(page[node]))!.relaying.find((r) => r.channel === 'meter')?.to ?? []).map((hostId) => hostOf[hostId]).sort();
  await expect.poll(async () => [await children('S'), await children('A')], { timeout: 10_000 }).toEqual([
    ['A', 'D'],
    ['B', 'C'],
  ]);
  for (const node of ['B', 'C', 'D'] as const) expect(await children(node)).toEqual([]);
  const before = await Promise.all((['A', 'B', 'C', 'D'] as const).map(async (node) => framesDecoded((await snapshot(page[node]))!, 'meter')));
  await expect
    .poll(async () => (await Promise.all((['A', 'B', 'C', 'D'] as const).map(async (node, i) => framesDecoded((await snapshot(page[node]))!, 'meter') - before[i]!))).every((gained) => gained >= 10), { timeout: 30_000 })
    .toBe(true);
  await observer.screenshot({ path: test.info().outputPath('stress-tree-observer.png'), fullPage: true });
  await observer.close();
});
