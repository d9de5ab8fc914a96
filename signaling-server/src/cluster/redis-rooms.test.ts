import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisProcess } from '../services/redis-server.js';
import { RedisRooms } from './redis-rooms.js';

let redis: RedisProcess;
const clients: Redis[] = [];
let prefixes = 0;

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  for (const client of clients) client.disconnect();
  await redis.stop();
});

/** Two nodes' views of one Redis, with a short lease, under a prefix of their own. */
function rooms(leaseMs = 300): [RedisRooms, RedisRooms] {
  const options = { prefix: `t${++prefixes}:`, leaseMs, nodeTtlMs: 200 };
  const make = () => {
    const client = new Redis(redis.url);
    clients.push(client);
    return new RedisRooms(client, options);
  };
  return [make(), make()];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('room leases in Redis', () => {
  it('lets one node own a room at a time, with a fencing token that grows with each owner', async () => {
    const [a, b] = rooms();
    const first = (await a.acquire('r', 'node-a'))!;
    expect(first.fence).toBe(1);
    expect(await b.acquire('r', 'node-b')).toBeUndefined();
    expect(await b.owner('r')).toEqual({ node: 'node-a', fence: 1 });
    await a.release(first);
    const second = (await b.acquire('r', 'node-b'))!;
    expect(second.fence).toBe(2);
    // A release by a node that no longer holds the lease does nothing.
    await a.release(first);
    expect(await a.owner('r')).toEqual({ node: 'node-b', fence: 2 });
  });

  it('keeps a renewed lease, and lets a lapsed one go to another node, whose state the old owner cannot overwrite', async () => {
    const [a, b] = rooms(300);
    const lease = (await a.acquire('r', 'node-a'))!;
    expect(await a.save(lease, 'state 1')).toBe(true);
    for (let i = 0; i < 4; i++) {
      await sleep(150);
      expect(await a.renew(lease)).toBe(true);
    }
    expect(await b.acquire('r', 'node-b')).toBeUndefined();
    // The owner stops renewing (paused, cut off): the lease lapses and another takes it.
    await sleep(400);
    expect(performance.now()).toBeGreaterThan(lease.validUntil);
    const taken = (await b.acquire('r', 'node-b'))!;
    expect(taken.fence).toBe(2);
    expect((await b.load('r'))?.core).toBe('state 1');
    expect(await b.save(taken, 'state 2')).toBe(true);
    // The old owner comes back: it can neither renew nor write.
    expect(await a.renew(lease)).toBe(false);
    expect(await a.save(lease, 'stale')).toBe(false);
    expect(await a.remove(lease)).toBe(false);
    expect((await a.load('r'))?.core).toBe('state 2');
  });

  it('lists saved rooms, finds the unowned ones, and forgets a removed room', async () => {
    const [a, b] = rooms(10_000);
    const x = (await a.acquire('x', 'node-a'))!;
    const y = (await a.acquire('y', 'node-a'))!;
    await a.save(x, 'x');
    await a.save(y, 'y');
    expect((await b.rooms()).sort()).toEqual(['x', 'y']);
    expect(await b.unowned(['x', 'y'])).toEqual([]);
    await a.release(y);
    expect(await b.unowned(['x', 'y'])).toEqual(['y']);
    expect(await a.remove(x)).toBe(true);
    expect(await b.rooms()).toEqual(['y']);
    expect(await b.load('x')).toBeUndefined();
    // Hosts' records are written and deleted with the core, and go with a removed room.
    expect(await a.save(y, 'y2', { set: [['h1', '{"a":1}'], ['h2', '{"b":2}']], removed: [] })).toBe(false); // y's lease was given back
    const y2 = (await a.acquire('y', 'node-a'))!;
    expect(await a.save(y2, 'y2', { set: [['h1', '{"a":1}'], ['h2', '{"b":2}']], removed: [] })).toBe(true);
    expect(await a.save(y2, 'y3', { set: [['h3', '{"c":3}']], removed: ['h1'] })).toBe(true);
    expect(await b.load('y')).toEqual({ core: 'y3', hosts: new Map([['h2', '{"b":2}'], ['h3', '{"c":3}']]) });
    expect(await a.remove(y2)).toBe(true);
    expect(await b.load('y')).toBeUndefined();
    expect(await b.owner('x')).toBeUndefined();
  });

  it("saves a re-embedding's worth of host records in one script (100000 of them)", async () => {
    const [a, b] = rooms(10_000);
    const lease = (await a.acquire('big', 'node-a'))!;
    const set = Array.from({ length: 100_000 }, (_, i): [string, string] => [`h${i}`, `{"ids":[${i}]}`]);
    expect(await a.save(lease, 'core', { set, removed: [] })).toBe(true);
    const loaded = (await b.load('big'))!;
    expect(loaded.hosts.size).toBe(100_000);
    expect(loaded.hosts.get('h99999')).toBe('{"ids":[99999]}');
  });

  it('knows which nodes are alive by their heartbeats', async () => {
    const [a, b] = rooms();
    await a.heartbeat('node-a');
    await b.heartbeat('node-b');
    expect(await a.alive(['node-a', 'node-b', 'node-c'])).toEqual(new Set(['node-a', 'node-b']));
    await b.leaveCluster('node-b');
    expect(await a.alive(['node-a', 'node-b'])).toEqual(new Set(['node-a']));
    await sleep(300);
    expect(await a.alive(['node-a'])).toEqual(new Set());
  });
});
