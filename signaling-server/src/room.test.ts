import { NetworkCoordinates } from '@cubecast/overlay';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FLOOD_WATCH_TICK_MS, startedFloodWatches, type TickSource } from './flood-watch.js';
import { silentLogger } from './log.js';
import { DEFAULT_CONTROLLER_CONFIG, OverlayController } from './overlay-controller.js';
import { DELTAS_DEFERRED_MAX_MS, LEAVE_BATCH_MAX_MS, Room, type RoomDelivery } from './room.js';
import { createMemoryStore } from './store.js';

/** Ticks from this thread's setInterval, which the fake timers of a test drive. */
function intervalTicks(): TickSource {
  const timers = new Map<() => void, NodeJS.Timeout>();
  return {
    add: (tick) => void (timers.has(tick) || timers.set(tick, setInterval(tick, FLOOD_WATCH_TICK_MS))),
    remove: (tick) => {
      clearInterval(timers.get(tick));
      timers.delete(tick);
    },
  };
}

/** A room of `count` hosts whose deliveries are counted per host id; its leave batches checked on `leaveTicks` (by default the clock thread's). */
function roomOf(count: number, leaveTicks?: TickSource) {
  const sent = new Map<string, number>();
  const delivery: RoomDelivery = {
    toHost: (to) => void sent.set(to.connection, (sent.get(to.connection) ?? 0) + 1),
    toHosts: () => undefined,
    dropHost: () => undefined,
    toObservers: () => undefined,
  };
  const room = new Room('r', (outbox) => new OverlayController(createMemoryStore(new NetworkCoordinates()), outbox, DEFAULT_CONTROLLER_CONFIG), delivery, {
    logger: silentLogger,
    snapshotIntervalMs: 100,
    guard: (_where, work) => work(),
    ...(leaveTicks && { leaveTicks }),
  });
  const hosts = Array.from({ length: count }, (_, i) => {
    const { hostId } = room.controller.join({}, { node: 'n', connection: `c${i}` });
    room.controller.answered(hostId);
    return { hostId, connection: `c${i}` };
  });
  const batches: boolean[] = [];
  const leaveMany = room.controller.leaveMany.bind(room.controller);
  room.controller.leaveMany = (leaves, options) => {
    batches.push(options?.deferDeltas === true);
    leaveMany(leaves, options);
  };
  sent.clear();
  return { room, hosts, sent, batches };
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance'] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('leaves in bursts', () => {
  it('keeps the sessions of the newest 10000 hosts that lost their connection, the oldest go', () => {
    const { room, hosts } = roomOf(10_100);
    const tokens = new Map([...room.controller.store.hosts.values()].map((h) => [h.hostId, h.sessionToken]));
    room.controller.leaveMany(hosts.slice(0, 100).map(({ hostId }) => ({ hostId, reason: 'failure' })));
    room.controller.leaveMany(hosts.slice(100).map(({ hostId }) => ({ hostId, reason: 'disconnect' })));
    const suspended = room.controller.store.suspended;
    expect(suspended.size).toBe(10_000);
    expect(hosts.slice(0, 100).some(({ hostId }) => suspended.has(tokens.get(hostId)!))).toBe(false);
    expect(hosts.slice(100).every(({ hostId }) => suspended.get(tokens.get(hostId)!)?.hostId === hostId)).toBe(true);
    room.close();
  });

  it('holds the deltas of batches cut short while leaves still come, and sends each host that stays one when the burst ends', () => {
    const { room, hosts, sent, batches } = roomOf(60, intervalTicks());
    const leaving = hosts.slice(12);
    // One leave every 40 ms for 1920 ms: the first batch is cut at LEAVE_BATCH_MAX_MS, the last ends in quiet.
    expect(48 * 40).toBeGreaterThan(LEAVE_BATCH_MAX_MS);
    for (const host of leaving) {
      room.queueLeave({ hostId: host.hostId, reason: 'disconnect', connection: host.connection });
      vi.advanceTimersByTime(40);
    }
    vi.advanceTimersByTime(100);
    expect(batches).toEqual([true, false]);
    expect(room.controller.store.hosts.size).toBe(12);
    // None to the hosts that left; at most one to each that stayed.
    expect(leaving.filter((h) => sent.has(h.connection))).toEqual([]);
    expect(Math.max(...sent.values())).toBe(1);
    expect(sent.size).toBeGreaterThan(0);
    room.close();
  });

  it('sends what a burst owes once it goes quiet, even when its last batch was cut short, and defers for 2 s at most', () => {
    const { room, hosts, sent, batches } = roomOf(300, intervalTicks());
    // One leave every 15 ms for 1.5 s, then none: the last batch is cut at LEAVE_BATCH_MAX_MS of it.
    for (const host of hosts.slice(0, 100)) {
      room.queueLeave({ hostId: host.hostId, reason: 'disconnect', connection: host.connection });
      vi.advanceTimersByTime(15);
    }
    expect(batches.every((deferred) => deferred)).toBe(true);
    vi.advanceTimersByTime(10);
    expect(sent.size).toBe(0);
    vi.advanceTimersByTime(1000); // the shrink check after 1 s of quiet
    expect(sent.size).toBeGreaterThan(0);
    // A burst of 5 s: deltas wait DELTAS_DEFERRED_MAX_MS at most, then a batch sends what is owed, and the next wait begins.
    batches.length = 0;
    for (const host of hosts.slice(100, 250)) {
      room.queueLeave({ hostId: host.hostId, reason: 'disconnect', connection: host.connection });
      vi.advanceTimersByTime(33);
    }
    expect(150 * 33).toBeGreaterThan(2 * DELTAS_DEFERRED_MAX_MS);
    expect(batches.slice(0, 2)).toEqual([true, true]);
    expect(batches).toContain(false);
    vi.advanceTimersByTime(1100);
    // Nothing owed: every host left was told its ids as they are.
    const { ownership } = room.controller.store.cube!;
    for (const host of room.controller.store.hosts.values()) expect([...host.sent.ids].sort()).toEqual([...ownership.idsOf(host.hostId)].sort());
    room.close();
  });
});

/**
 * While thousands of sockets close, their I/O holds timers back (see FloodWatch): here no
 * timer runs (fake ones nobody advances) while real time passes, and the room's batches are
 * checked on the clock thread's ticks.
 */
describe('leaves while timers are held back', () => {
  const realSetImmediate = setImmediate;
  beforeEach(() => {
    vi.useRealTimers();
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
  });
  const busy = (ms: number) => {
    const until = performance.now() + ms;
    while (performance.now() < until);
  };
  const leave = (room: Room, host: { hostId: string; connection: string }) => room.queueLeave({ hostId: host.hostId, reason: 'disconnect', connection: host.connection });

  it('hands a batch that has been quiet for 50 ms to the controller when the next leave comes', () => {
    const { room, hosts, batches } = roomOf(10);
    for (const host of hosts.slice(0, 3)) leave(room, host);
    busy(60);
    leave(room, hosts[3]!);
    expect(batches).toEqual([false]);
    expect(room.controller.store.hosts.size).toBe(7);
    room.close();
  });

  it('takes no leaves once closed', () => {
    const { room, hosts, batches } = roomOf(4);
    room.close();
    expect(() => leave(room, hosts[0]!)).not.toThrow();
    busy(60);
    leave(room, hosts[1]!);
    expect(batches).toEqual([]);
    expect(room.controller.store.hosts.size).toBe(4);
  });

  it('cuts a batch at LEAVE_BATCH_MAX_MS while leaves still come, its deltas deferred', () => {
    const { room, hosts, batches } = roomOf(LEAVE_BATCH_MAX_MS / 10 + 20);
    const started = performance.now();
    let next = 0;
    while (performance.now() - started < LEAVE_BATCH_MAX_MS + 20) {
      leave(room, hosts[next++]!);
      busy(10);
    }
    expect(batches).toEqual([true]);
    room.close();
  });

  it('hands a batch to the controller from within a flood of I/O once it has been quiet for 50 ms', async () => {
    // A flood is one long poll phase: no setImmediate runs either (faked here; the test
    // turns the loop with the real one). The watch's clock ticks from its own thread.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate'] });
    const { room, hosts, batches } = roomOf(100);
    const turnsFor = async (ms: number) => {
      const until = performance.now() + ms;
      while (performance.now() < until && batches.length === 0) await new Promise((resolve) => realSetImmediate(resolve));
    };
    for (const host of hosts.slice(0, 64)) leave(room, host);
    expect(startedFloodWatches()).toBe(1);
    // Ticks come, and the batch is not due yet.
    await turnsFor(2 * FLOOD_WATCH_TICK_MS);
    expect(batches).toEqual([]);
    busy(60);
    await turnsFor(20 * FLOOD_WATCH_TICK_MS);
    expect(batches).toEqual([false]);
    expect(room.controller.store.hosts.size).toBe(36);
    // The watch runs while a batch is pending, not after.
    expect(startedFloodWatches()).toBe(0);
    room.close();
  });
});
