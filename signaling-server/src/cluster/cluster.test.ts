import type { ObserverDelta, ObserverEvent, ObserverSnapshot } from '@cubecast/protocol';
import { Redis } from 'ioredis';
import { io } from 'socket.io-client';
import type { OverlayController } from '../overlay-controller.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../log.js';
import { encodeBusEnvelopes } from './bus-codec.js';
import { startServer, type RunningServer, type ServerOptions } from '../server.js';
import { startRedis, type RedisProcess } from '../services/redis-server.js';
import { eventually, TEST_VIDEO_CODEC as VIDEO, VirtualHost } from '../testing/virtual-host.js';

let redis: RedisProcess;
let prefixes = 0;
const closers: (() => unknown)[] = [];

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** Nodes of one deployment: one Redis and key prefix, short leases so failover is quick to test. */
function deployment() {
  const prefix = `c${++prefixes}:`;
  let nodes = 0;
  return Object.assign(async (options: Partial<ServerOptions> = {}): Promise<RunningServer> => {
    const s = await startServer({
      port: 0,
      host: '127.0.0.1',
      logger: silentLogger,
      node: `${prefix}node${++nodes}`,
      redis: { url: redis.url, prefix, leaseMs: 1000, nodeTtlMs: 1000, requestTimeoutMs: 2000 },
      ...options,
    });
    closers.push(() => s.close());
    return s;
  }, { prefix });
}

async function host(s: RunningServer, extra: Parameters<VirtualHost['join']>[0] = {}): Promise<VirtualHost> {
  const h = new VirtualHost(s.url);
  closers.push(() => h.close());
  return h.join({ room: 'r', ...extra });
}

/** The room's controller, on whichever of these nodes owns it now. */
function ownerOf(nodes: RunningServer[], room = 'r'): OverlayController | undefined {
  return nodes.map((s) => s.room(room)).find((c) => c !== undefined);
}

/** Every id owned exactly once, and each host's view equal to the owner's. */
function consistent(controller: OverlayController | undefined, hosts: VirtualHost[]): boolean {
  const cube = controller?.store.cube;
  if (!cube || cube.ownership.hostCount !== hosts.length) return false;
  let owned = 0;
  for (const h of hosts) {
    if (!cube.ownership.has(h.hostId) || h.epoch !== cube.epoch) return false;
    const ids = cube.ownership.idsOf(h.hostId);
    owned += ids.length;
    const table = cube.ownership.neighbourTable(h.hostId);
    if (ids.length !== h.ids.size || !ids.every((id) => h.ids.has(id))) return false;
    if (table.size !== h.neighbours.size || ![...table].every(([id, owner]) => h.neighbours.get(id) === owner)) return false;
  }
  return owned === cube.cube.size;
}

/** An observer of room `r` on a node, keeping the set of hosts it is shown and the events' messages. */
function watch(s: RunningServer, token?: string) {
  const socket = io(`${s.url}/observer`, { transports: ['websocket'], reconnection: false, forceNew: true, auth: { room: 'r', ...(token && { token }) } });
  closers.push(() => socket.disconnect());
  const hosts = new Set<string>();
  const events: string[] = [];
  socket.on('observer:snapshot', (snapshot: ObserverSnapshot) => {
    hosts.clear();
    for (const h of snapshot.hosts) hosts.add(h.hostId);
  });
  socket.on('observer:delta', (delta: ObserverDelta) => {
    for (const h of delta.hosts?.set ?? []) hosts.add(h.hostId);
    for (const id of delta.hosts?.removed ?? []) hosts.delete(id);
  });
  socket.on('observer:event', (event: ObserverEvent) => events.push(event.message));
  return { socket, hosts, events };
}

const idsOf = (h: VirtualHost) => [...h.ids].sort((a, b) => a - b);

describe('rooms on several nodes with one Redis', () => {
  it('gives hosts joining through different nodes one consistent cube, owned by one node', async () => {
    const node = deployment();
    const nodes = [await node(), await node(), await node()];
    const hosts: VirtualHost[] = [];
    for (let i = 0; i < 30; i++) hosts.push(await host(nodes[i % 3]!));
    expect(nodes.filter((s) => s.room('r') !== undefined)).toHaveLength(1);
    await eventually(() => consistent(ownerOf(nodes), hosts), 5000, 'one consistent cube');
    expect(new Set(hosts.map((h) => h.hostId)).size).toBe(30);
    // Requests and answers cross nodes: a channel published on one is seen on all.
    const { channel } = await hosts[1]!.request('channel:publish', { name: 'cam', kind: 'video', codec: VIDEO });
    await eventually(() => hosts.every((h) => h === hosts[1] || h.channels.get('cam')?.id === channel.id), 5000, 'the channel everywhere');
    const { subscription } = await hosts[2]!.request('subscription:create', { channel: 'cam', maxLatencyMs: 150, pipeline: [] });
    await eventually(() => hosts[1]!.routeRequests.some((r) => r.subscriptionId === subscription.subscriptionId), 5000, 'the route request');
    // A signal between linked hosts on different nodes.
    const a = hosts[0]!;
    const linked = hosts.find((h) => [...a.neighbours.values()].includes(h.hostId))!;
    const received = new Promise((resolve) => linked.socket.once('signal:receive', resolve));
    await a.request('signal:send', { to: linked.hostId, epoch: a.epoch, data: { type: 'offer', sdp: 'v=0' } });
    expect(await received).toMatchObject({ from: a.hostId });
  });

  it('takes back a host whose join the owner carried out after its gateway gave up on it', async () => {
    const node = deployment();
    const a = await node();
    await host(a); // a owns the room
    // b waits 1 ms for answers: its joins are answered after it told the tab UNAVAILABLE.
    const b = await node({ redis: { url: redis.url, prefix: node.prefix, leaseMs: 1000, nodeTtlMs: 1000, requestTimeoutMs: 1 } });
    const late = new VirtualHost(b.url);
    closers.push(() => late.close());
    await expect(late.join({ room: 'r' })).rejects.toThrow(/UNAVAILABLE|did not answer/);
    await eventually(() => a.room('r')!.store.counters.joins === 2, 5000, 'the owner to carry the join out');
    await eventually(() => a.room('r')!.store.hosts.size === 1, 5000, 'the host nobody was told of to leave');
  });

  it('keeps the room through a restart of its only node: hosts come back with their ids, channels and subscriptions', async () => {
    const node = deployment();
    const first = await node();
    const hosts = [await host(first), await host(first), await host(first), await host(first)];
    const { channel } = await hosts[0]!.request('channel:publish', { name: 'cam', kind: 'video', codec: VIDEO });
    const { subscription } = await hosts[1]!.request('subscription:create', { channel: 'cam', maxLatencyMs: 150, pipeline: [] });
    const before = hosts.map((h) => [h.hostId, idsOf(h)]);
    await new Promise((resolve) => setTimeout(resolve, 300)); // the write-behind save
    await first.close(); // as a crash: nothing handed over, the lease left to run out
    const second = await node({ port: Number(new URL(first.url).port) });
    // The first back signals a neighbour still away: the neighbour gets it once it is back.
    const [a, ...others] = hosts;
    const aBack = await host(second, { resume: a!.sessionToken });
    const neighbour = others.find((h) => [...aBack.neighbours.values()].includes(h.hostId))!;
    await aBack.request('signal:send', { to: neighbour.hostId, epoch: aBack.epoch, data: { type: 'offer', sdp: 'while away' } });
    const neighbourBack = new VirtualHost(second.url);
    closers.push(() => neighbourBack.close());
    const signalled = new Promise((resolve) => neighbourBack.socket.once('signal:receive', resolve));
    await neighbourBack.join({ room: 'r', resume: neighbour.sessionToken });
    expect(await signalled).toMatchObject({ from: a!.hostId, data: { sdp: 'while away' } });
    const rest = await Promise.all(others.filter((h) => h !== neighbour).map((h) => host(second, { resume: h.sessionToken })));
    const back = [aBack, neighbourBack, ...rest];
    expect(back.map((h) => h.hostId).sort()).toEqual(hosts.map((h) => h.hostId).sort());
    const controller = second.room('r')!;
    expect(hosts.map((h) => [h.hostId, [...controller.store.cube!.ownership.idsOf(h.hostId)].sort((a, b) => a - b)])).toEqual(before);
    expect(controller.channels()).toEqual([expect.objectContaining({ id: channel.id, name: 'cam', publisher: hosts[0]!.hostId })]);
    expect([...controller.store.subscriptions.keys()]).toEqual([subscription.subscriptionId]);
  });

  it('moves a room to another node when its owner dies: hosts elsewhere keep their ids, the dead node\'s hosts take theirs back', async () => {
    const node = deployment();
    const a = await node();
    const b = await node();
    const onA = [await host(a), await host(a), await host(a)];
    const onB = [await host(b), await host(b), await host(b)];
    expect(a.room('r')).toBeDefined();
    await eventually(() => consistent(a.room('r'), [...onA, ...onB]), 5000, 'one cube');
    const before = new Map([...onA, ...onB].map((h) => [h.hostId, idsOf(h)]));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const died = performance.now();
    await a.close();
    // b takes the room once a's lease has run out, without any request asking for it.
    await eventually(() => b.room('r') !== undefined, 5000, 'b to take the room');
    const tookMs = performance.now() - died;
    for (const h of onB) expect(idsOf(h)).toEqual(before.get(h.hostId));
    const again = await Promise.all(onA.map((h) => host(b, { resume: h.sessionToken })));
    expect(again.map((h) => h.hostId)).toEqual(onA.map((h) => h.hostId));
    for (const h of again) expect(idsOf(h)).toEqual(before.get(h.hostId));
    await eventually(() => consistent(b.room('r'), [...again, ...onB]), 5000, 'one cube after the failover');
    expect(tookMs).toBeLessThan(4000);
  });

  it('hands rooms over at once when a node drains, and drops hosts that never come back after the claim window', async () => {
    const node = deployment();
    const a = await node({ controller: { claimWindowMs: 500 } });
    const b = await node({ controller: { claimWindowMs: 500 } });
    const onA = [await host(a), await host(a)];
    const onB = [await host(b), await host(b)];
    await a.drain();
    await eventually(() => b.room('r') !== undefined, 3000, 'b to take the drained room');
    // a's hosts do not come back: after the claim window they are gone, b's stay.
    await eventually(() => b.room('r')!.store.hosts.size === 2, 5000, "a's hosts to go");
    await eventually(() => consistent(b.room('r'), onB), 5000, 'the cube of the hosts left');
    expect(onA.every((h) => !b.room('r')!.hasHost(h.hostId))).toBe(true);
  });

  it('feeds observers on any node: the snapshot, deltas and events from the owner, and their controls carried out there', async () => {
    const node = deployment();
    const a = await node({ adminToken: 'secret', snapshotIntervalMs: 20 });
    const b = await node({ adminToken: 'secret', snapshotIntervalMs: 20 });
    const first = await host(a); // a owns the room
    const { socket: watcher, hosts, events } = watch(b, 'secret');
    await eventually(() => hosts.has(first.hostId), 5000, 'the snapshot on b');
    const second = await host(a);
    await eventually(() => hosts.has(second.hostId) && events.some((m) => m.startsWith(`${second.hostId} joined`)), 5000, 'the delta and event on b');
    // A control from b's observer is carried out by the owner a.
    const ack = (await watcher.timeout(3000).emitWithAck('control:kill', { hostId: second.hostId })) as { ok: boolean };
    expect(ack).toEqual({ ok: true });
    await eventually(() => !hosts.has(second.hostId) && !a.room('r')!.hasHost(second.hostId), 5000, 'the kill seen on b');
  });

  it('keeps feeding observers on a node without hosts when the room moves to another owner', async () => {
    const node = deployment();
    const a = await node({ snapshotIntervalMs: 20 });
    const b = await node({ snapshotIntervalMs: 20 });
    const c = await node({ snapshotIntervalMs: 20 });
    await host(a); // a owns the room
    const onB = await host(b);
    const { hosts } = watch(c);
    await eventually(() => hosts.has(onB.hostId), 5000, 'the snapshot on c');
    await a.close();
    // b or c takes it: c's observers must follow either way.
    await eventually(() => ownerOf([b, c]) !== undefined, 5000, 'another node to take the room');
    const late = await host(b);
    await eventually(() => hosts.has(late.hostId), 5000, "b's changes on c");
  });

  it('drops what an owner with an older fencing token sends a gateway\'s sockets, and delivers what the current owner sends', async () => {
    const node = deployment();
    const a = await node();
    const b = await node();
    const c = await node();
    await host(a); // a owns the room: fence 1
    const onC = await host(c);
    await host(b);
    await a.close();
    // b or c takes the room (fence 2); either way c's sockets have heard from fence 2 after.
    await eventually(() => ownerOf([b, c]) !== undefined, 5000, 'another node to take the room (fence 2)');
    await onC.roundTrip();
    const publisher = new Redis(redis.url);
    closers.push(() => publisher.disconnect());
    const { node: cNode } = (await (await fetch(`${c.url}/metrics`)).json()) as { node: string };
    const signals: unknown[] = [];
    onC.socket.on('signal:receive', (signal) => signals.push(signal));
    const envelope = (fence: number, sdp: string) =>
      encodeBusEnvelopes('stale-or-not', [{ t: 'host', room: 'r', fence, connection: onC.socket.id!, event: 'signal:receive', args: [{ from: 'h1', epoch: onC.epoch, data: { type: 'offer', sdp } }] }]).envelopes[0]!;
    await publisher.publish(`${node.prefix}bus:${cNode}`, envelope(1, 'from the old owner'));
    await publisher.publish(`${node.prefix}bus:${cNode}`, envelope(2, 'from the owner'));
    await eventually(() => signals.length > 0, 5000, 'the current owner\'s message');
    await onC.roundTrip();
    expect(signals).toEqual([{ from: 'h1', epoch: onC.epoch, data: { type: 'offer', sdp: 'from the owner' } }]);
  });
});
