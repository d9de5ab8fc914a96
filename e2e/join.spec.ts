import { mRegion } from '@cubecast/overlay';
import { cubeFacts } from './cube.js';
import type { Page } from '@playwright/test';
import { expect, snapshots, test } from './fixtures.js';

/** Waits until every tab is in mRegion(count)'s cube, one epoch, linked exactly to its cube-neighbour hosts. */
async function expectLinkedAsTheCube(pages: Page[], count: number, timeout: number): Promise<void> {
  const region = mRegion(count);
  await expect
    .poll(async () => {
      const all = await snapshots(pages);
      if (all.some((s) => s.cube?.k !== region.k || s.cube?.n !== region.n)) return 'cube not settled';
      if (new Set(all.map((s) => s.cube!.epoch)).size !== 1) return 'epochs differ';
      const { neighbourHosts, owner } = cubeFacts(all);
      if (owner.size !== region.M) return `ids owned: ${owner.size} of ${region.M}`;
      for (const s of all) {
        const open = s.links.filter((l) => l.state === 'open').map((l) => l.hostId).sort();
        const expected = neighbourHosts(s);
        if (JSON.stringify(open) !== JSON.stringify(expected)) return `${s.hostId}: open ${open} != neighbours ${expected} (${JSON.stringify(all.map((x) => [x.hostId, x.cube?.epoch, x.links.map((l) => `${l.hostId}:${l.state}`)]))})`;
        if (s.links.length !== expected.length) return `${s.hostId}: ${s.links.length} links, expected ${expected.length}`;
      }
      return 'ok';
    }, { timeout, intervals: [500] })
    .toBe('ok');
}

test('9 tabs join: the cube is mRegion(9) and every tab links exactly to its cube neighbours', async ({ tabs }) => {
  for (let i = 0; i < 9; i++) await tabs.open();
  await expectLinkedAsTheCube(tabs.pages, 9, 60_000);
  await expect.poll(async () => (await snapshots(tabs.pages)).every((s) => s.links.every((l) => l.rttMs !== null)), { timeout: 5000 }).toBe(true);
  // No ICE servers, one namespace: every link is a direct pair of host candidates over UDP.
  await expect
    .poll(async () => [...new Set((await snapshots(tabs.pages)).flatMap((s) => s.links.map((l) => (l.routeDetail ? `${l.route}:${l.routeDetail.local}-${l.routeDetail.remote}/${l.routeDetail.protocol}` : 'none'))))], { timeout: 5000 })
    .toEqual(['host:host-host/udp']);
  await expect(tabs.pages[0]!.getByTestId('links').locator('td[data-route="host"]').first()).toHaveText('host, udp');
});

test('5 tabs opened at once: links negotiated across re-embeddings still come up', async ({ tabs }) => {
  // Joins this close re-embed the cube while links are mid-negotiation: signals of the old
  // epoch are refused, and a link that waited for them would stay "connecting" for ever.
  await Promise.all(Array.from({ length: 5 }, () => tabs.open()));
  await expectLinkedAsTheCube(tabs.pages, 5, 30_000);
});
