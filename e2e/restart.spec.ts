import { silentLogger, startServer } from '@cubecast/signaling-server';
import { fileURLToPath } from 'node:url';
import { ADMIN_TOKEN, expect, framesDecoded, resumeTimes, snapshots, streamToAll, test } from './fixtures.js';

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
