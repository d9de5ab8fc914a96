import { connect, createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import type { Page } from '@playwright/test';
import { expect, framesDecoded, publishCamera, resumeTimes, snapshots, startTestServer, streamToAll, subscribe, test } from './fixtures.js';

test.use({ withRedis: true });

/**
 * One URL in front of several server nodes, as a load balancer: each TCP connection goes to the
 * next node in turn, and to the one after if that one refuses. Loopback only, closed by the test.
 */
async function roundRobin(backends: () => number[]): Promise<{ port: number; close(): Promise<void> }> {
  let next = 0;
  const open = new Set<Socket>();
  const proxy: Server = createServer((client) => {
    open.add(client);
    client.on('close', () => open.delete(client));
    client.on('error', () => client.destroy());
    const ports = backends();
    const attempt = (tries: number) => {
      const port = ports[next++ % ports.length]!;
      const upstream = connect(port, '127.0.0.1');
      upstream.once('connect', () => {
        client.pipe(upstream).pipe(client);
        upstream.on('error', () => client.destroy());
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      });
      upstream.once('error', () => (tries > 1 ? attempt(tries - 1) : client.destroy()));
    };
    attempt(ports.length);
  });
  proxy.listen(0, '127.0.0.1');
  await once(proxy, 'listening');
  return {
    port: (proxy.address() as { port: number }).port,
    close: async () => {
      for (const socket of open) socket.destroy();
      proxy.close();
      await once(proxy, 'close');
    },
  };
}

test('the server restarts mid-stream with its rooms in Redis: every tab gets its host back (same id) and every subscriber decodes again within 10 s', async ({ tabs, server, redis }) => {
  const { subscribers } = await streamToAll(tabs, 5);
  const hostIds = (await snapshots(tabs.pages)).map((s) => s.hostId);
  const { port } = new URL(server.url);
  await server.close(); // as a crash: the lease is left to run out
  await expect.poll(async () => (await snapshots(tabs.pages)).every((s) => s.connection !== 'connected'), { timeout: 15_000 }).toBe(true);
  const before = (await snapshots(subscribers)).map((s) => framesDecoded(s, 'cam'));
  const restartedAt = Date.now();
  const restarted = await startTestServer(Number(port), redis);
  try {
    const resumedAfter = await resumeTimes(subscribers, 'cam', before, restartedAt, 20_000);
    console.log('server with Redis restarted; subscribers resumed after (ms):', resumedAfter);
    for (const [i, t] of resumedAfter.entries()) expect(t, `subscriber ${i + 1} resumed`).toBeLessThanOrEqual(10_000);
    await expect.poll(async () => (await snapshots(tabs.pages)).map((s) => s.hostId), { timeout: 10_000 }).toEqual(hostIds);
  } finally {
    await restarted.close();
  }
});

test('tabs on two nodes behind one URL stream; the node that owns the room is killed; another takes it and every subscriber decodes again', async ({ browser, redis }) => {
  const nodes = [await startTestServer(0, redis), await startTestServer(0, redis)];
  const alive = new Set(nodes);
  const proxy = await roundRobin(() => [...alive].map((s) => Number(new URL(s.url).port)));
  const context = await browser.newContext({ viewport: { width: 900, height: 800 } });
  try {
    const url = `http://127.0.0.1:${proxy.port}`;
    const pages: Page[] = [];
    for (let i = 0; i < 4; i++) {
      const page = await context.newPage();
      await page.goto(`${url}/`);
      await expect.poll(async () => (await snapshots([page]))[0]?.connection, { timeout: 20_000 }).toBe('connected');
      pages.push(page);
    }
    const [publisher, ...watchers] = pages;
    await publishCamera(publisher!, 'cam');
    for (const page of watchers) await subscribe(page, 'cam', 1000);
    await expect.poll(async () => Math.min(...(await snapshots(watchers)).map((s) => framesDecoded(s, 'cam'))), { timeout: 60_000 }).toBeGreaterThanOrEqual(20);
    const sockets = nodes.map((s) => s.io.of('/').sockets.size);
    console.log('host sockets per node:', sockets);
    expect(Math.min(...sockets), 'tabs on both nodes').toBeGreaterThan(0);
    const owner = nodes.find((s) => s.room('default') !== undefined)!;
    const hostIds = (await snapshots(pages)).map((s) => s.hostId);
    const before = (await snapshots(watchers)).map((s) => framesDecoded(s, 'cam'));
    const killedAt = Date.now();
    alive.delete(owner);
    await owner.close();
    const resumedAfter = await resumeTimes(watchers, 'cam', before, killedAt, 30_000);
    console.log('owner node killed; subscribers resumed after (ms):', resumedAfter);
    for (const [i, t] of resumedAfter.entries()) expect(t, `subscriber ${i + 1} resumed`).toBeLessThanOrEqual(15_000);
    const survivor = [...alive][0]!;
    await expect.poll(() => survivor.room('default') !== undefined, { timeout: 10_000 }).toBe(true);
    await expect.poll(async () => (await snapshots(pages)).map((s) => s.hostId), { timeout: 15_000 }).toEqual(hostIds);
  } finally {
    await context.close();
    await proxy.close();
    for (const s of nodes) await s.close();
  }
});
