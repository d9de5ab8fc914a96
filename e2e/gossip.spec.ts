import { expect, framesDecoded, openObserver, publishCamera, snapshots, subscribe, test } from './fixtures.js';

test.use({ serverOptions: { roomAlgorithms: new Map([['lab', 'gossip']]) } });

test('a room that runs gossip: its tabs get the stream by gossip, the observer names the algorithm, and its control (1, 1) makes it flood', async ({ tabs }) => {
  const publisher = await tabs.open('r/lab');
  const viewers = [await tabs.open('r/lab'), await tabs.open('r/lab'), await tabs.open('r/lab')];
  await publishCamera(publisher, 'cam');
  for (const viewer of viewers) await subscribe(viewer, 'cam', 1000);
  // Gossip passes each fragment on with probability 0.5: every viewer's links carry the
  // stream (the far viewer's only through the others), far from every frame whole.
  await expect
    .poll(async () => (await snapshots(viewers)).map((s) => s.links.reduce((sum, link) => sum + (link.receivedKbps ?? 0), 0) > 20), { timeout: 30_000 })
    .toEqual([true, true, true]);

  await (await openObserver(publisher, undefined, 'cube')).close();
  const observer = await openObserver(publisher, 'lab', 'gossip');
  await observer.getByLabel('a', { exact: true }).fill('1');
  await observer.getByLabel('b', { exact: true }).fill('1');
  await observer.getByTestId('observer-algorithm-control').click();
  await expect(observer.locator('.controls').getByTestId('observer-control-answer')).toHaveText('Sent (1, 1) to the 4 hosts running gossip.');
  await observer.screenshot({ path: test.info().outputPath('gossip-observer.png') });
  await observer.close();

  // p = 1: every fragment reaches every tab, and every viewer decodes the stream.
  const before = (await snapshots(viewers)).map((s) => framesDecoded(s, 'cam'));
  await expect
    .poll(async () => (await snapshots(viewers)).map((s, i) => framesDecoded(s, 'cam') - before[i]! >= 60), { timeout: 30_000 })
    .toEqual([true, true, true]);
});
