import type { Page } from '@playwright/test';
import { expect, forceCube, framesDecoded, openObserver, snapshot, subscribe, test } from './fixtures.js';

test.use({ serverOptions: { roomAlgorithms: new Map([['trees', 'stress-tree']]) } });

/** The paper's five nodes (seed 004, Fig. 5) with their total bandwidths, KBps. */
const NODES = { S: 200, A: 500, B: 100, C: 200, D: 100 } as const;
type Node = keyof typeof NODES;

test('node-stress-aware trees (iOverlay Fig. 5): five tabs with the paper\'s bandwidths joining in its order build its tree, and every tab gets the stream', async ({ tabs }) => {
  test.setTimeout(180_000);
  const page = {} as Record<Node, Page>;
  for (const node of Object.keys(NODES) as Node[]) page[node] = await tabs.open(`r/trees?total=${NODES[node] * 8}`);
  const observer = await openObserver(page.S, 'trees', 'stress-tree');
  // A tree may join any two of the five: on the 3-ary 3-cube each tab has 5 or 6 ids, and a link to every other.
  await forceCube(observer, tabs.pages, 3, 3, 4);
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
