import type { Redis } from 'ioredis';
import type { HostChanges } from '../room-state.js';

/**
 * A room's lease: which node owns the room, with a fencing token that grows with every new
 * owner. `validUntil` is on this process's monotonic clock and errs early: the lease began in
 * Redis after `acquire` was sent, so it ends there no sooner than `sent + leaseMs`.
 */
export interface Lease {
  readonly room: string;
  /** What the lease key holds: `<node>|<fence>`. */
  readonly value: string;
  readonly fence: number;
  validUntil: number;
}

/** Who owns a room now. */
export interface RoomOwner {
  readonly node: string;
  readonly fence: number;
}

type LeaseCommands = {
  cubecastAcquire(lease: string, fence: string, node: string, ttl: number): Promise<string | null>;
  cubecastRenew(lease: string, value: string, ttl: number): Promise<number>;
  cubecastRelease(lease: string, value: string): Promise<number>;
  cubecastSave(lease: string, state: string, rooms: string, hosts: string, value: string, core: string, room: string, written: number, changes: readonly string[]): Promise<number>;
  cubecastRemove(lease: string, state: string, rooms: string, hosts: string, value: string, room: string): Promise<number>;
};

/**
 * Every check-and-write is one Lua script, so Redis runs it whole: a node whose lease was taken
 * (it was paused past its lease, or cut off) cannot save over the new owner's state, because
 * the save compares the lease it holds with the one in Redis in the same step.
 */
const SCRIPTS = {
  cubecastAcquire: {
    numberOfKeys: 2,
    lua: `if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local fence = redis.call('INCR', KEYS[2])
local value = ARGV[1] .. '|' .. fence
redis.call('SET', KEYS[1], value, 'PX', ARGV[2])
return value`,
  },
  cubecastRenew: {
    numberOfKeys: 1,
    lua: `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`,
  },
  cubecastRelease: {
    numberOfKeys: 1,
    lua: `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`,
  },
  // ARGV: lease value, core document, room, n; then n (host id, record) pairs; then ids to delete.
  cubecastSave: {
    numberOfKeys: 4,
    lua: `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2])
redis.call('SADD', KEYS[3], ARGV[3])
local written = tonumber(ARGV[4])
for i = 5, 4 + 2 * written, 2 do redis.call('HSET', KEYS[4], ARGV[i], ARGV[i + 1]) end
for i = 5 + 2 * written, #ARGV do redis.call('HDEL', KEYS[4], ARGV[i]) end
return 1`,
  },
  cubecastRemove: {
    numberOfKeys: 4,
    lua: `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[2], KEYS[4])
redis.call('SREM', KEYS[3], ARGV[2])
redis.call('DEL', KEYS[1])
return 1`,
  },
} as const;

export interface RedisRoomsOptions {
  /** Prepended to every key: deployments (or tests) sharing one Redis keep apart. */
  readonly prefix: string;
  /** How long a lease lasts without renewal: how soon a dead owner's rooms are taken over. */
  readonly leaseMs: number;
  /** How long a node's heartbeat lasts: how soon its hosts are known to be gone. */
  readonly nodeTtlMs: number;
}

/**
 * A lease renewed every quarter of its length, and a heartbeat of twice that: a node busy for
 * a few seconds (a re-embedding of tens of thousands of hosts, on a loaded machine) keeps its
 * rooms and its hosts; a dead one's rooms move within 8 s, its hosts' wait begins within 10 s.
 */
export const DEFAULT_REDIS_ROOMS_OPTIONS: RedisRoomsOptions = { prefix: 'cubecast:', leaseMs: 8000, nodeTtlMs: 10_000 };

/** Leases, saved rooms and node heartbeats in Redis. Holds no state of its own. */
export class RedisRooms {
  private readonly redis: Redis & LeaseCommands;

  constructor(
    redis: Redis,
    readonly options: RedisRoomsOptions = DEFAULT_REDIS_ROOMS_OPTIONS,
  ) {
    for (const [name, { numberOfKeys, lua }] of Object.entries(SCRIPTS)) {
      if (!(name in redis)) redis.defineCommand(name, { numberOfKeys, lua });
    }
    this.redis = redis as Redis & LeaseCommands;
  }

  /** Takes the room's lease if nobody holds it; undefined if somebody does. */
  async acquire(room: string, node: string): Promise<Lease | undefined> {
    const sent = performance.now();
    const value = await this.redis.cubecastAcquire(this.key(room, 'lease'), this.key(room, 'fence'), node, this.options.leaseMs);
    if (value === null) return undefined;
    return { room, value, fence: fenceOf(value), validUntil: sent + this.options.leaseMs };
  }

  /** Extends a lease still held; false when it was lost (expired and maybe taken). */
  async renew(lease: Lease): Promise<boolean> {
    const sent = performance.now();
    const renewed = (await this.redis.cubecastRenew(this.key(lease.room, 'lease'), lease.value, this.options.leaseMs)) === 1;
    if (renewed) lease.validUntil = sent + this.options.leaseMs;
    return renewed;
  }

  async release(lease: Lease): Promise<void> {
    await this.redis.cubecastRelease(this.key(lease.room, 'lease'), lease.value);
  }

  async owner(room: string): Promise<RoomOwner | undefined> {
    const value = await this.redis.get(this.key(room, 'lease'));
    if (value === null) return undefined;
    return { node: value.slice(0, value.lastIndexOf('|')), fence: fenceOf(value) };
  }

  /**
   * Writes the room's core document and its hosts' changed records if the lease is still this
   * one; false when it is not (nothing written).
   */
  async save(lease: Lease, core: string, hosts: HostChanges = { set: [], removed: [] }): Promise<boolean> {
    const changes = [...hosts.set.flat(), ...hosts.removed];
    const keys = [this.key(lease.room, 'lease'), this.key(lease.room, 'state'), this.roomsKey(), this.key(lease.room, 'hosts')] as const;
    // As one array (ioredis flattens it): a re-embedding changes every host, and spreading 2 x
    // 59050 arguments into the call overflowed the stack.
    return (await this.redis.cubecastSave(...keys, lease.value, core, lease.room, hosts.set.length, changes)) === 1;
  }

  /** Forgets an empty room (its state, its lease) if the lease is still this one. */
  async remove(lease: Lease): Promise<boolean> {
    return (await this.redis.cubecastRemove(this.key(lease.room, 'lease'), this.key(lease.room, 'state'), this.roomsKey(), this.key(lease.room, 'hosts'), lease.value, lease.room)) === 1;
  }

  /** The room's core document and its hosts' records, if it was saved. */
  async load(room: string): Promise<{ core: string; hosts: Map<string, string> } | undefined> {
    const [core, hosts] = await Promise.all([this.redis.get(this.key(room, 'state')), this.redis.hgetall(this.key(room, 'hosts'))]);
    return core === null ? undefined : { core, hosts: new Map(Object.entries(hosts)) };
  }

  /** Every room that has a saved state. */
  async rooms(): Promise<string[]> {
    return this.redis.smembers(this.roomsKey());
  }

  /** Rooms among these whose lease nobody holds. */
  async unowned(rooms: readonly string[]): Promise<string[]> {
    if (rooms.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const room of rooms) pipeline.exists(this.key(room, 'lease'));
    const results = (await pipeline.exec()) ?? [];
    return rooms.filter((_, i) => results[i]?.[1] === 0);
  }

  /** Says this node is alive for the next nodeTtlMs. */
  async heartbeat(node: string): Promise<void> {
    await this.redis.set(this.nodeKey(node), '1', 'PX', this.options.nodeTtlMs);
  }

  /** Says at once that this node is gone (it drains): its hosts need not wait for the heartbeat to end. */
  async leaveCluster(node: string): Promise<void> {
    await this.redis.del(this.nodeKey(node));
  }

  /** Of these nodes, the ones alive now. */
  async alive(nodes: Iterable<string>): Promise<Set<string>> {
    const list = [...nodes];
    if (list.length === 0) return new Set();
    const values = await this.redis.mget(...list.map((node) => this.nodeKey(node)));
    return new Set(list.filter((_, i) => values[i] !== null));
  }

  private key(room: string, part: 'lease' | 'fence' | 'state' | 'hosts'): string {
    return `${this.options.prefix}room:${room}:${part}`;
  }

  private roomsKey(): string {
    return `${this.options.prefix}rooms`;
  }

  private nodeKey(node: string): string {
    return `${this.options.prefix}node:${node}`;
  }
}

function fenceOf(value: string): number {
  return Number(value.slice(value.lastIndexOf('|') + 1));
}
