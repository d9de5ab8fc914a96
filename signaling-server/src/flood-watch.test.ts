import { ClosedError } from '@cubecast/protocol';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { FLOOD_WATCH_TICK_MS, FloodWatch } from './flood-watch.js';

describe('FloodWatch', () => {
  const closing: (() => void)[] = [];
  afterEach(() => {
    for (const close of closing.splice(0)) close();
  });

  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it('steps on every tick of its clock while started, and not once stopped', async () => {
    let steps = 0;
    let otherSteps = 0;
    const watch = new FloodWatch(() => steps++);
    const other = new FloodWatch(() => otherSteps++);
    closing.push(() => watch.close(), () => other.close());
    for (let i = 0; i < 5; i++) watch.start();
    other.start();
    await sleep(10 * FLOOD_WATCH_TICK_MS);
    // One step per tick however often it was started: as many as the watch started once.
    expect(steps).toBeGreaterThanOrEqual(2);
    expect(steps).toBe(otherSteps);
    watch.stop();
    const atStop = steps;
    const otherAtStop = otherSteps;
    await sleep(10 * FLOOD_WATCH_TICK_MS);
    expect(steps).toBe(atStop);
    // The clock runs on for a watch still started.
    expect(otherSteps).toBeGreaterThan(otherAtStop);
    other.stop();
    watch.start();
    await sleep(10 * FLOOD_WATCH_TICK_MS);
    expect(steps).toBeGreaterThan(atStop);
  });

  it('stops at close, and refuses to start after', async () => {
    let steps = 0;
    const watch = new FloodWatch(() => steps++);
    watch.start();
    watch.close();
    await sleep(3 * FLOOD_WATCH_TICK_MS);
    expect(steps).toBe(0);
    expect(watch.closed).toBe(true);
    expect(() => watch.start()).toThrow(ClosedError);
  });

  it('steps again and again within a flood of socket I/O that holds a due timer back', async () => {
    // 1500 connections that echo each other without pause: more than libuv's 1024 events are
    // always ready, so it polls again and again (up to 48 times) before it runs timers. The
    // clock's ticks are events too, handled among the echoes.
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
          setTimeout(() => {
            timerRanAt = events;
            watch.stop();
          }, 0);
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
    const stepsAtStop = steps.length;
    await sleep(3 * FLOOD_WATCH_TICK_MS);
    stopped = true;
    expect(steps.length).toBe(stepsAtStop);
    expect(timerRanAt - SCHEDULED_AT).toBeGreaterThan(4 * SOCKETS);
    expect(steps[0]! - SCHEDULED_AT).toBeLessThanOrEqual(2 * SOCKETS);
    // Steps all through the flood, until the timer ran at last and stopped the watch.
    const steppedAt = [SCHEDULED_AT, ...steps, timerRanAt];
    for (let i = 1; i < steppedAt.length; i++) expect(steppedAt[i]! - steppedAt[i - 1]!).toBeLessThanOrEqual(2 * 1024 + 2 * SOCKETS);
  }, 30_000);
});
