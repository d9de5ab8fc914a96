import { silentLogger, startServer } from '@cubecast/signaling-server';
import { fileURLToPath } from 'node:url';
import { ADMIN_TOKEN, expect, framesDecoded, resumeTimes, snapshot, snapshots, streamToAll, test } from './fixtures.js';

const webRoot = fileURLToPath(new URL('../apps/web/dist', import.meta.url));

test('the server restarts mid-stream with its state in memory: every subscriber decodes new frames within 10 s', async ({ tabs, server }) => {
  const { subscribers } = await streamToAll(tabs, 5);

  const { port } = new URL(server.url);
  await server.close();
  await expect.poll(async () => (await snapshots(tabs.pages)).every((s) => s.connection !== 'connected'), { timeout: 15_000 }).toBe(true);
  const before = (await snapshots(subscribers)).map((s) => framesDecoded(s, 'cam'));
  // The same port, nothing remembered: every tab joins as a new host and sets up again what it had.
  const restartedAt = Date.now();
  const restarted = await startServer({ port: Number(port), host: '127.0.0.1', webRoot, logger: silentLogger, adminToken: ADMIN_TOKEN });
  try {
    const resumedAfter = await resumeTimes(subscribers, 'cam', before, restartedAt, 20_000);
    const after = await snapshots(tabs.pages);
    console.log('server restarted; subscribers resumed after (ms):', resumedAfter, 'hosts now:', after.map((s) => s.hostId));
    for (const [i, t] of resumedAfter.entries()) expect(t, `subscriber ${i + 1} resumed`).toBeLessThanOrEqual(10_000);
    // Nothing the tabs set up was lost: the publication and each subscription are live again.
    expect(after[0]!.publishing.map((p) => p.channel)).toEqual(['cam']);
    for (const s of after.slice(1)) expect(s.subscriptions).toMatchObject([{ channel: 'cam', maxLatencyMs: 1000, subscriptionId: expect.any(String) }]);
  } finally {
    await restarted.close();
  }
});

test('a publisher loses its connection: it resumes its session (host id, channel id), and its subscribers, who waited, decode again', async ({ tabs, server }) => {
  const { publisher, subscribers } = await streamToAll(tabs, 4);
  const { hostId, channels } = (await snapshot(publisher))!;
  const channelId = channels.find((c) => c.name === 'cam')!.id;
  const socket = [...server.io.of('/').sockets.values()].find((s) => s.data.hostId === hostId)!;
  // The transport drops under the tab (as on a network change): socket.io reconnects by itself.
  const droppedAt = Date.now();
  (socket.conn as unknown as { close(): void }).close();
  // Each subscriber is told, and waits: frames are counted from then, when the old stream is gone.
  for (const page of subscribers) await expect(page.getByRole('status').filter({ hasText: 'The publisher of cam lost its connection' })).toBeVisible();
  const before = (await snapshots(subscribers)).map((s) => framesDecoded(s, 'cam'));
  const resumedAfter = await resumeTimes(subscribers, 'cam', before, droppedAt, 20_000);
  console.log('publisher dropped; subscribers resumed after (ms):', resumedAfter);
  for (const [i, t] of resumedAfter.entries()) expect(t, `subscriber ${i + 1} resumed`).toBeLessThanOrEqual(10_000);
  for (const s of await snapshots(subscribers)) expect(s.subscriptions).toMatchObject([{ channel: 'cam', subscriptionId: expect.any(String) }]);
  const after = (await snapshot(publisher))!;
  expect(after.hostId).toBe(hostId);
  expect(after.channels.find((c) => c.name === 'cam')).toMatchObject({ id: channelId, publisher: hostId });
});

