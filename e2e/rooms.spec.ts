import { expect, framesDecoded, publishCamera, snapshot, snapshots, subscribe, test } from './fixtures.js';

test('tabs in different rooms are different overlays: a stream in one is neither listed nor carried in another', async ({ tabs }) => {
  const publisher = await tabs.open('r/kitchen');
  const viewer = await tabs.open('r/kitchen');
  const elsewhere = await tabs.open('r/garden');
  const lobby = await tabs.open();
  await expect(viewer.getByTestId('server-status')).toHaveText(/in room “kitchen”/);
  await publishCamera(publisher, 'cam');
  await subscribe(viewer, 'cam', 1000);
  await expect.poll(async () => framesDecoded((await snapshot(viewer))!, 'cam'), { timeout: 30_000 }).toBeGreaterThanOrEqual(10);
  const [p, v, e, l] = await snapshots([publisher, viewer, elsewhere, lobby]);
  expect([p!.room, v!.room, e!.room, l!.room]).toEqual(['kitchen', 'kitchen', 'garden', 'default']);
  // Each room numbers its own hosts: the first in each is h1, and only kitchen's two are linked.
  expect([p!.hostId, e!.hostId, l!.hostId]).toEqual(['h1', 'h1', 'h1']);
  expect(v!.links.map((link) => link.hostId)).toEqual([p!.hostId]);
  for (const s of [e!, l!]) {
    expect(s.channels).toEqual([]);
    expect(s.links).toEqual([]);
  }
  await expect(elsewhere.getByTestId('channel-list')).toContainText('No channel is live');

  // A room's observer page shows that room alone.
  const observer = await tabs.pages[0]!.context().newPage();
  await observer.goto(new URL('/r/kitchen/observer', publisher.url()).href);
  await expect(observer.getByTestId('observer-host-count')).toHaveText('2');
  await expect(observer.getByText('room “kitchen”')).toBeVisible();
  await observer.getByTestId('observer-channel-select').selectOption('cam');
  await expect.poll(async () => (await observer.evaluate(() => window.cubecastObserver))!.channels.map((c) => c.name)).toEqual(['cam']);
  await observer.close();
});

test('a path that names a room badly says so and joins the default room', async ({ tabs }) => {
  const page = await tabs.open('r/a%2Fb');
  await expect(page.getByRole('alert')).toContainText('"a/b" is not a room name');
  expect((await snapshot(page))!.room).toBe('default');
});
