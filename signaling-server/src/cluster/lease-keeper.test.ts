import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../log.js';
import { startRedis, type RedisProcess } from '../services/redis-server.js';
import { eventually } from '../testing/virtual-host.js';
import { LeaseKeeper } from './lease-keeper.js';
import { RedisRooms } from './redis-rooms.js';

let redis: RedisProcess;
const closers: (() => unknown)[] = [];
let prefixes = 0;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await redis.stop();
});

/** A keeper for node-a and two views of its Redis (node-a's and another node's), short leases. */
function setup(maxStallMs: number) {
  const options = { prefix: `k${++prefixes}:`, leaseMs: 400, nodeTtlMs: 400 };
  const rooms = () => {
    const client = new Redis(redis.url);
    closers.push(() => client.disconnect());
    return new RedisRooms(client, options);
  };
  const lost: [string, number][] = [];
  const keeper = new LeaseKeeper({ url: redis.url, rooms: options, node: 'node-a', maxLeases: 4, maxStallMs, logger: silentLogger, onLost: (room, fence) => lost.push([room, fence]) });
  closers.push(() => keeper.close());
  const other = rooms();
  /**
   * Resolves once the keeper's thread is up and writing: its heartbeat is in Redis. A lease
   * held before could run out (400 ms) while the thread still loads on a loaded machine.
   */
  const started = async () => {
    for (const deadline = Date.now() + 10_000; !(await other.alive(['node-a'])).has('node-a'); ) {
      if (Date.now() > deadline) throw new Error('the keeper thread did not start within 10 s');
      await sleep(20);
    }
  };
  return { keeper, mine: rooms(), other, lost, started };
}

/** This thread busy, not yielding, for `ms`: what a re-embedding of a big room does to an owner. */
function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}


describe('lease keeper', () => {
  it('keeps a lease and the heartbeat through a main thread busy for several leases', async () => {
    const { keeper, mine, other, started } = setup(10_000);
    await started();
    const lease = (await mine.acquire('r', 'node-a'))!;
    keeper.hold(lease);
    busy(1500);
    expect(keeper.holds(lease)).toBe(true);
    expect(await other.acquire('r', 'node-b')).toBeUndefined();
    expect(await other.owner('r')).toEqual({ node: 'node-a', fence: lease.fence });
    expect(await other.alive(['node-a'])).toEqual(new Set(['node-a']));
  });

  it('lets the lease go when the main thread is stuck past the stall limit, and says it was lost', async () => {
    const { keeper, mine, other, lost, started } = setup(600);
    await started();
    const lease = (await mine.acquire('r', 'node-a'))!;
    keeper.hold(lease);
    busy(1500);
    expect(keeper.holds(lease)).toBe(false);
    const taken = (await other.acquire('r', 'node-b'))!;
    expect(taken.fence).toBe(lease.fence + 1);
    await eventually(() => lost.length > 0, 2000, 'the loss reported');
    expect(lost).toEqual([['r', lease.fence]]);
  });

  it('stops renewing a dropped lease, and refuses new leases once closed', async () => {
    const { keeper, mine, other, started } = setup(10_000);
    await started();
    const lease = (await mine.acquire('r', 'node-a'))!;
    keeper.hold(lease);
    await sleep(600);
    expect(await other.acquire('r', 'node-b')).toBeUndefined();
    keeper.drop(lease);
    expect(keeper.holds(lease)).toBe(false);
    await sleep(600);
    expect(await other.acquire('r', 'node-b')).toBeDefined();
    await keeper.close();
    expect(() => keeper.hold(lease)).toThrow(/closed/);
  });
});
