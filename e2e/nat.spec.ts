import { expect, test } from './net/fixtures.js';
import { framesDecoded, publishCamera, snapshot, snapshots, subscribe } from './fixtures.js';

test.describe('two homes behind endpoint-independent NATs', () => {
  test.use({ homes: ['eim', 'eim'] });

  test('link on STUN-learned (srflx) pairs, not through TURN, and a stream flows', async ({ nat }) => {
    const publisher = await nat.open(1);
    const subscriber = await nat.open(2);
    await publishCamera(publisher, 'cam');
    await subscribe(subscriber, 'cam', 1000);
    await expect.poll(async () => framesDecoded((await snapshot(subscriber))!, 'cam'), { timeout: 60_000 }).toBeGreaterThanOrEqual(20);
    const routes = (await snapshots(nat.pages)).flatMap((s) => s.links.map((l) => l.routeDetail));
    console.log('routes', JSON.stringify(routes));
    expect(routes).toHaveLength(2);
    for (const route of routes) expect(route).toMatchObject({ type: 'srflx', local: 'srflx', remote: 'srflx' });
  });
});

test.describe('a home behind a symmetric NAT', () => {
  test.use({ homes: ['symmetric', 'eim'] });

  test('links through a TURN relay, and a stream flows', async ({ nat }) => {
    const publisher = await nat.open(1);
    const subscriber = await nat.open(2);
    await publishCamera(publisher, 'cam');
    await subscribe(subscriber, 'cam', 1000);
    await expect.poll(async () => framesDecoded((await snapshot(subscriber))!, 'cam'), { timeout: 60_000 }).toBeGreaterThanOrEqual(20);
    const routes = (await snapshots(nat.pages)).flatMap((s) => s.links.map((l) => l.routeDetail));
    console.log('routes', JSON.stringify(routes));
    for (const route of routes) expect(route?.type).toBe('relay');
  });
});
