/**
 * The server under load, in its own process so its heap is measured alone. Mode `cubecast`
 * runs the real server; mode `bare` runs socket.io alone, acking each join with a fixed state:
 * the transport's own cost, the benchmark's baseline. Talks to the parent over IPC: prints
 * nothing, answers `heap` with its memory after a full GC, stops on `stop` or parent exit.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { silentLogger } from '../src/log.js';
import { startServer } from '../src/server.js';

const mode = process.argv[2];
const gc = (globalThis as { gc?: () => void }).gc!;

async function start(): Promise<{ url: string; counters: () => object }> {
  if (mode === 'cubecast') {
    // Every virtual host comes from loopback: the per-address cap would stop the load at 64.
    const server = await startServer({ port: 0, host: '127.0.0.1', logger: silentLogger, rateLimit: { burst: 1e6, perSecond: 1e6 }, limits: { maxConnectionsPerAddress: 1e6 } });
    return { url: server.url, counters: () => ({ hosts: server.controller.store.hosts.size, ...server.controller.store.counters }) };
  }
  const http = createServer();
  const io = new Server(http, { serveClient: false });
  let hosts = 0;
  let next = 0;
  io.on('connection', (socket) => {
    socket.on('host:join', (_payload: unknown, ack: (r: unknown) => void) => {
      hosts++;
      socket.on('disconnect', () => hosts--);
      ack({ ok: true, state: { hostId: `h${++next}`, epoch: 1, revision: 0, k: 3, n: 1, ids: [0], neighbours: [], policy: 'greedy' }, channels: [] });
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`, counters: () => ({ hosts }) };
}

const { url, counters } = await start();
process.send!({ type: 'ready', url });
process.on('message', (message: { type: string }) => {
  if (message.type === 'heap') {
    gc();
    process.send!({ type: 'heap', heapUsed: process.memoryUsage().heapUsed, rss: process.memoryUsage().rss, ...counters() });
  } else if (message.type === 'counters') {
    process.send!({ type: 'counters', ...counters() });
  } else if (message.type === 'stop') {
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
