/**
 * The lease keeper's thread (see lease-keeper.ts): renews the leases it is given and the
 * node's heartbeat on a Redis connection of its own, as long as the main thread shows signs
 * of life, and writes each lease's end where the main thread reads it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Redis } from 'ioredis';
import type { KeeperData, KeeperRequest, KeeperReport } from './lease-keeper.js';
import { RedisRooms, type Lease } from './redis-rooms.js';

const data = workerData as KeeperData;
const ends = new Float64Array(data.shared);
const redis = new Redis(data.url, { maxRetriesPerRequest: 2 });
const rooms = new RedisRooms(redis, data.rooms);
const held = new Map<number, Lease>();
const report = (message: KeeperReport) => parentPort!.postMessage(message);
const now = () => performance.timeOrigin + performance.now();

redis.on('error', (error: Error) => report({ type: 'error', message: `redis: ${error.message}` }));

parentPort!.on('message', (request: KeeperRequest) => {
  if (request.type === 'hold') held.set(request.slot, { ...request.lease, validUntil: 0 });
  else held.delete(request.slot);
});

async function renewAll(): Promise<void> {
  // A main thread silent this long is stuck, not busy: its rooms must go to another node.
  if (now() - ends[0]! > data.maxStallMs) return;
  await rooms.heartbeat(data.node);
  await Promise.all(
    [...held].map(async ([slot, lease]) => {
      if (await rooms.renew(lease)) {
        // Only while still held: a drop that came during the renewal wins.
        if (held.get(slot) === lease) ends[slot] = performance.timeOrigin + lease.validUntil;
        return;
      }
      if (held.get(slot) !== lease) return;
      held.delete(slot);
      ends[slot] = 0;
      report({ type: 'lost', room: lease.room, fence: lease.fence });
    }),
  );
}

setInterval(() => {
  renewAll().catch((error: unknown) => report({ type: 'error', message: error instanceof Error ? error.message : String(error) }));
}, data.intervalMs);
