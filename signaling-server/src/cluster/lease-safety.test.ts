import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisProcess } from '../services/redis-server.js';
import { TEST_VIDEO_CODEC as VIDEO, VirtualHost } from '../testing/virtual-host.js';

let redis: RedisProcess;
const children: ChildProcess[] = [];
const hosts: VirtualHost[] = [];

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  for (const h of hosts) h.close();
  for (const child of children) {
    child.kill('SIGCONT');
    child.kill('SIGKILL');
  }
  await redis.stop();
});

/** A server node in its own process (testing/server-node.ts); resolves with its URL. */
async function serverNode(name: string, leaseMs: number): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', new URL('../testing/server-node.ts', import.meta.url).pathname, redis.url, name, String(leaseMs)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
  return { child, url: (JSON.parse(line) as { url: string }).url };
}

async function host(url: string): Promise<VirtualHost> {
  const h = new VirtualHost(url);
  hosts.push(h);
  return h.join({ room: 'r' });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('lease safety', () => {
  it('a paused owner (SIGSTOP) that comes back after its lease was taken cannot write the room, and stops acting as its owner', async () => {
    const leaseMs = 1500;
    const a = await serverNode('node-a', leaseMs);
    const b = await serverNode('node-b', leaseMs);
    const onA = await host(a.url); // a owns the room
    const onB = await host(b.url);
    const client = new Redis(redis.url);
    try {
      expect(await client.get('cubecast:room:r:lease')).toBe('node-a|1');
      // A change a has not saved yet when it is paused: its save is due when it wakes.
      await onA.request('channel:publish', { name: 'before', kind: 'video', codec: VIDEO });
      a.child.kill('SIGSTOP');
      await sleep(leaseMs + 500);
      // b's host asks: a's lease ran out, b takes the room (fence 2) and carries the request out.
      await onB.request('channel:publish', { name: 'after', kind: 'video', codec: VIDEO });
      expect(await client.get('cubecast:room:r:lease')).toBe('node-b|2');
      a.child.kill('SIGCONT');
      await sleep(1000);
      const saved = JSON.parse((await client.get('cubecast:room:r:state'))!) as { channels: { name: string }[] };
      expect(saved.channels.map((c) => c.name).sort()).toEqual(['after', 'before']);
      expect(await client.get('cubecast:room:r:lease')).toBe('node-b|2');
      // a's host is served by the owner b now: its request is carried out there.
      await onA.request('channel:publish', { name: 'from-a', kind: 'video', codec: VIDEO });
      await sleep(500);
      const later = JSON.parse((await client.get('cubecast:room:r:state'))!) as { channels: { name: string }[] };
      expect(later.channels.map((c) => c.name).sort()).toEqual(['after', 'before', 'from-a']);
    } finally {
      client.disconnect();
    }
  });
});
