/**
 * The server under load, in its own process so its heap is measured alone. Mode `cubecast`
 * runs the real server; mode `cluster <redis-url> <node>` runs it as one node of several on
 * one Redis; mode `bare` runs socket.io alone, acking each join with a fixed state: the
 * transport's own cost, the benchmark's baseline. Talks to the parent over IPC: prints
 * nothing, answers `heap` with its memory after a full GC, `counters` (with `emptiedAt`, when
 * the last host's leave was handled, wall-clock ms) and `ownership` (see start), stops on
 * `stop` or parent exit.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { DEFAULT_ROOM } from '@cubecast/protocol';
import { appendFileSync } from 'node:fs';
import { jsonLogger, silentLogger, type Level } from '../src/log.js';
import type { OverlayController } from '../src/overlay-controller.js';
import { startServer } from '../src/server.js';

const [mode, redisUrl, node] = process.argv.slice(2);
const gc = (globalThis as { gc?: () => void }).gc!;
/** Wall-clock ms, comparable with the benchmark process's. */
const wallClock = () => performance.timeOrigin + performance.now();
/** When the server had handled the last of its hosts' leaves. */
let emptiedAt: number | undefined;

/** Whether every id of the room's cube has exactly one owner and loads are balanced (the owner's view). */
function ownershipExact(controller: OverlayController): boolean {
  const current = controller.store.cube;
  if (!current) return controller.store.hosts.size === 0;
  const { cube, ownership } = current;
  const m = ownership.hostCount;
  let total = 0;
  for (const host of ownership.hosts()) {
    const ids = ownership.idsOf(host);
    if (ids.length !== Math.floor(cube.size / m) && ids.length !== Math.ceil(cube.size / m)) return false;
    for (const id of ids) if (ownership.ownerOf(id) !== host) return false;
    total += ids.length;
  }
  return total === cube.size && m === controller.store.hosts.size;
}

/**
 * `counters` are asked every 20 ms while hosts leave, so they stay cheap; `ownership` walks
 * every id of the cube (milliseconds at 15000 hosts, on the loop being measured).
 */
async function start(): Promise<{ url: string; counters: () => object; ownership: () => object }> {
  if (mode === 'cubecast' || mode === 'cluster') {
    // Every virtual host comes from loopback: the per-address cap would stop the load at 64.
    const server = await startServer({
      port: 0,
      host: '127.0.0.1',
      // CUBECAST_BENCH_LOG=FILE: warnings and errors of every node (CUBECAST_BENCH_LOG_LEVEL: from another level), appended there.
      logger: process.env.CUBECAST_BENCH_LOG ? jsonLogger((line) => appendFileSync(process.env.CUBECAST_BENCH_LOG!, `${node ?? mode} ${line}\n`), (process.env.CUBECAST_BENCH_LOG_LEVEL as Level | undefined) ?? 'warn') : silentLogger,
      rateLimit: { burst: 1e6, perSecond: 1e6 },
      limits: { maxConnectionsPerAddress: 1e6 },
      // CUBECAST_LEASE_MS: the leases of a run (default the server's); heartbeats last 1.25 leases.
      ...(mode === 'cluster' && {
        redis: { url: redisUrl!, ...(process.env.CUBECAST_LEASE_MS && { leaseMs: Number(process.env.CUBECAST_LEASE_MS), nodeTtlMs: Number(process.env.CUBECAST_LEASE_MS) * 1.25 }) },
        node: node!,
      }),
    });
    // Leaves end in a batch (OverlayController.leaveMany): the one after which no host is left.
    const controller = server.room(DEFAULT_ROOM);
    if (controller) {
      const leaveMany = controller.leaveMany.bind(controller);
      controller.leaveMany = (leaves, options) => {
        leaveMany(leaves, options);
        if (controller.store.hosts.size === 0) emptiedAt = wallClock();
      };
    }
    return {
      url: server.url,
      counters: () => {
        const controller = server.room(DEFAULT_ROOM);
        const sockets = server.io.of('/').sockets.size;
        if (!controller) return { owner: false, sockets, hosts: sockets };
        return { owner: true, sockets, hosts: controller.store.hosts.size, ...controller.store.counters, M: controller.store.cube?.cube.size ?? 0 };
      },
      ownership: () => {
        const controller = server.room(DEFAULT_ROOM);
        return controller ? { owner: true, exact: ownershipExact(controller), M: controller.store.cube?.cube.size ?? 0 } : { owner: false };
      },
    };
  }
  const http = createServer();
  const io = new Server(http, { serveClient: false });
  let hosts = 0;
  let next = 0;
  io.on('connection', (socket) => {
    socket.on('host:join', (_payload: unknown, ack: (r: unknown) => void) => {
      hosts++;
      socket.on('disconnect', () => {
        if (--hosts === 0) emptiedAt = wallClock();
      });
      ack({ ok: true, state: { hostId: `h${++next}`, epoch: 1, revision: 0, k: 3, n: 1, ids: [0], neighbours: [], policy: 'greedy' }, channels: [] });
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`, counters: () => ({ hosts }), ownership: () => ({ owner: false }) };
}

const { url, counters, ownership } = await start();
process.send!({ type: 'ready', url });
process.on('message', (message: { type: string }) => {
  if (message.type === 'heap') {
    gc();
    process.send!({ type: 'heap', heapUsed: process.memoryUsage().heapUsed, rss: process.memoryUsage().rss, ...counters() });
  } else if (message.type === 'counters') {
    process.send!({ type: 'counters', emptiedAt, ...counters() });
  } else if (message.type === 'ownership') {
    process.send!({ type: 'ownership', ...ownership() });
  } else if (message.type === 'stop') {
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
