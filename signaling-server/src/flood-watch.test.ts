import { ClosedError } from '@cubecast/protocol';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { FloodWatch } from './flood-watch.js';

describe('FloodWatch', () => {
  const closing: (() => void)[] = [];
  afterEach(() => {
    for (const close of closing.splice(0)) close();
  });

  it('runs a step or two and stops while the loop turns freely', async () => {
    let steps = 0;
    const watch = new FloodWatch(() => steps++);
    closing.push(() => watch.close());
    for (let i = 0; i < 5; i++) watch.start();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(steps).toBeGreaterThanOrEqual(1);
    expect(steps).toBeLessThanOrEqual(2);
    watch.start();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(steps).toBeGreaterThanOrEqual(2);
    expect(steps).toBeLessThanOrEqual(4);
  });

  it('stops at close, and refuses to start after', async () => {
    let steps = 0;
    const watch = new FloodWatch(() => steps++);
    watch.start();
    watch.close();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(steps).toBe(0);
    expect(watch.closed).toBe(true);
    expect(() => watch.start()).toThrow(ClosedError);
  });

  it('steps again and again within a flood of socket I/O that holds a due timer back', async () => {
    // 1500 connections that echo each other without pause: more than libuv's 1024 events are
    // always ready, so it polls again and again (up to 48 times) before it runs timers. A
    // step runs after the events that were ready before it: at most one per socket end.
    const SOCKETS = 1500;
    const SCHEDULED_AT = 5000;
    let events = 0;
    let timerRanAt = 0;
    const steps: number[] = [];
    let stopped = false;
    const watch = new FloodWatch(() => steps.push(events));
    const server: Server = createServer((socket) => {
      // The test ends by resetting every connection.
      socket.on('error', () => undefined);
      socket.on('data', () => {
        if (++events === SCHEDULED_AT) {
          setTimeout(() => (timerRanAt = events), 0);
          watch.start();
        }
        if (!stopped) socket.write('s');
      });
    });
    const clients: Socket[] = [];
    closing.push(() => {
      stopped = true;
      watch.close();
      for (const client of clients) client.destroy();
      server.close();
    });
    // A backlog for every connection: with the default 511, connections beyond it are dropped.
    server.listen({ port: 0, host: '127.0.0.1', backlog: SOCKETS });
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    for (let i = 0; i < SOCKETS; i++) {
      const client = connect(port, '127.0.0.1');
      client.on('error', () => undefined);
      client.on('data', () => {
        if (!stopped) client.write('c');
      });
      clients.push(client);
    }
    await Promise.all(clients.map((client) => once(client, 'connect')));
    // Every connection accepted, so that the echoes are all there is to poll.
    await new Promise<void>((resolve) => {
      const accepted = setInterval(
        () =>
          server.getConnections((_error, count) => {
            if (count < SOCKETS) return;
            clearInterval(accepted);
            resolve();
          }),
        10,
      );
    });
    for (const client of clients) client.write('c');
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (timerRanAt === 0) return;
        clearInterval(check);
        resolve();
      }, 1);
    });
    stopped = true;
    expect(timerRanAt - SCHEDULED_AT).toBeGreaterThan(4 * SOCKETS);
    expect(steps[0]! - SCHEDULED_AT).toBeLessThanOrEqual(2 * SOCKETS);
    // A step at least every 2 x 1024 events until the timer ran (the flood ended), then at most one more.
    const before = [SCHEDULED_AT, ...steps.filter((at) => at < timerRanAt), timerRanAt];
    for (let i = 1; i < before.length; i++) expect(before[i]! - before[i - 1]!).toBeLessThanOrEqual(2 * 1024 + 2 * SOCKETS);
    expect(steps.filter((at) => at >= timerRanAt).length).toBeLessThanOrEqual(1);
  }, 30_000);
});
