import { expect, publishCamera, snapshots, subscribe, test } from './fixtures.js';

test.use({ serverOptions: { roomAlgorithms: new Map([['lab', 'gossip']]) } });

test('a room that runs gossip: the observer says so, and its tabs get the stream by gossip', async ({ tabs }) => {
  const publisher = await tabs.open('r/lab');
  const viewers = [await tabs.open('r/lab'), await tabs.open('r/lab'), await tabs.open('r/lab')];
  await publishCamera(publisher, 'cam');
  for (const viewer of viewers) await subscribe(viewer, 'cam', 1000);
  // Gossip passes each fragment on with probability 0.5: every viewer's links carry the
  // stream (the far viewer's only through the others), far from every frame whole.
  await expect
    .poll(async () => (await snapshots(viewers)).map((s) => s!.links.reduce((sum, link) => sum + (link.receivedKbps ?? 0), 0) > 20), { timeout: 30_000 })
    .toEqual([true, true, true]);
  const observer = await tabs.pages[0]!.context().newPage();
  await observer.goto(new URL('/r/lab/observer', publisher.url()).href);
  await expect(observer.getByTestId('observer-algorithm')).toHaveText('gossip');
  await observer.goto(new URL('/observer', publisher.url()).href);
  await expect(observer.getByTestId('observer-algorithm')).toHaveText('cube');
  await observer.close();
});
