import { createRng, randomInt } from '@cubecast/overlay';
import {
  pipelineVariant,
  CLIENT_EVENT_SCHEMAS,
  OBSERVER_EVENT_SCHEMAS,
  LIMITS,
  PROTOCOL_VERSION,
  type Ack,
  applyObserverDelta,
  type ObserverDelta,
  type ObserverEvent,
  type ObserverSnapshot,
  type SwapCheckResult,
} from '@cubecast/protocol';
import fc from 'fast-check';
import { io } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from './log.js';
import { startServer, type RunningServer, type ServerOptions } from './server.js';
import { eventually, TEST_VIDEO_CODEC as VIDEO, VirtualHost } from './testing/virtual-host.js';


const servers: RunningServer[] = [];
const clients: { close(): void }[] = [];

async function server(options: Partial<ServerOptions> = {}): Promise<RunningServer> {
  const s = await startServer({ port: 0, host: '127.0.0.1', logger: silentLogger, snapshotIntervalMs: 20, ...options });
  servers.push(s);
  return s;
}

async function host(s: RunningServer, extra?: Parameters<VirtualHost['join']>[0]): Promise<VirtualHost> {
  const h = new VirtualHost(s.url);
  clients.push(h);
  return h.join(extra);
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) await s.close();
});

/** Every live host's view equals the server's ownership, which is balanced and exact. */
function viewsMatch(s: RunningServer, hosts: VirtualHost[]): boolean {
  const cube = s.controller.store.cube;
  if (!cube) return hosts.length === 0;
  return hosts.every((h) => {
    if (h.epoch !== cube.epoch || h.k !== cube.cube.k || h.n !== cube.cube.n) return false;
    const ids = cube.ownership.idsOf(h.hostId);
    const table = cube.ownership.neighbourTable(h.hostId);
    return (
      ids.length === h.ids.size &&
      ids.every((id) => h.ids.has(id)) &&
      table.size === h.neighbours.size &&
      [...table].every(([id, owner]) => h.neighbours.get(id) === owner)
    );
  });
}

function expectOwnershipExact(s: RunningServer): void {
  const { cube, ownership } = s.controller.store.cube!;
  const m = ownership.hostCount;
  const loads = ownership.hosts().map((h) => ownership.idsOf(h).length);
  expect(loads.every((l) => l === Math.floor(cube.size / m) || l === Math.ceil(cube.size / m))).toBe(true);
  expect(loads.reduce((a, b) => a + b, 0)).toBe(cube.size);
  // Neighbour tables, recomputed from the definition.
  for (const hostId of ownership.hosts()) {
    const expected = new Map<number, string>();
    for (const id of ownership.idsOf(hostId)) {
      for (const x of cube.neighbours(id)) if (ownership.ownerOf(x) !== hostId) expected.set(x, ownership.ownerOf(x)!);
    }
    expect(new Map([...ownership.neighbourTable(hostId)])).toEqual(expected);
  }
}

describe('hosts and ids', () => {
  it('keeps every host view exact through 50 clients joining and leaving in random order', async () => {
    const s = await server();
    const rng = createRng(5);
    // Each of 50 clients joins once and leaves once, in a random interleaving.
    const steps: ('join' | 'leave')[] = [];
    let waiting = 50;
    let present = 0;
    while (waiting > 0 || present > 0) {
      if (waiting > 0 && (present === 0 || rng() < 0.6)) {
        steps.push('join');
        waiting--;
        present++;
      } else {
        steps.push('leave');
        present--;
      }
    }
    const live: VirtualHost[] = [];
    let maxLive = 0;
    for (const step of steps) {
      if (step === 'join') live.push(await host(s));
      else live.splice(randomInt(rng, live.length), 1)[0]!.close();
      maxLive = Math.max(maxLive, live.length);
      await eventually(() => s.controller.store.hosts.size === live.length && viewsMatch(s, live), 5000, 'views to match');
      if (live.length > 0) expectOwnershipExact(s);
    }
    expect(maxLive).toBeGreaterThan(10);
    expect(s.controller.store.cube).toBeUndefined();
  });

  it('re-embeds across an M-region boundary, with hysteresis on the way down', async () => {
    const s = await server();
    const hosts: VirtualHost[] = [];
    for (let i = 0; i < 9; i++) hosts.push(await host(s));
    await eventually(() => viewsMatch(s, hosts));
    expect([hosts[0]!.k, hosts[0]!.n]).toEqual([3, 2]);
    const epoch = hosts[0]!.epoch;
    hosts.push(await host(s));
    await eventually(() => viewsMatch(s, hosts));
    expect(hosts.map((h) => [h.k, h.n, h.epoch])).toEqual(hosts.map(() => [3, 3, epoch + 1]));
    // The 3-ary 3-cube's region starts at 10 hosts; with the margin it shrinks at 7, not 9 or 8.
    for (const expected of [9, 8]) {
      hosts.pop()!.close();
      await eventually(() => s.controller.store.hosts.size === expected && viewsMatch(s, hosts));
      expect(hosts[0]!.epoch).toBe(epoch + 1);
    }
    hosts.pop()!.close();
    // A shrink waits for a second without leaves (a burst re-embeds once), then comes.
    await eventually(() => s.controller.store.hosts.size === 7 && viewsMatch(s, hosts));
    expect(hosts[0]!.epoch).toBe(epoch + 1);
    await eventually(() => hosts[0]!.epoch === epoch + 2 && viewsMatch(s, hosts));
    expect(hosts.map((h) => [h.k, h.n, h.epoch])).toEqual(hosts.map(() => [3, 2, epoch + 2]));
    expect(s.controller.store.events.filter((e) => e.type === 'reembed').length).toBeGreaterThanOrEqual(2);
  });

  it('takes leaves that come together as one change: one delta per remaining host, one event for a mass leave', async () => {
    const s = await server();
    const hosts: VirtualHost[] = [];
    for (let i = 0; i < 60; i++) hosts.push(await host(s));
    await eventually(() => viewsMatch(s, hosts));
    const { epoch } = s.controller.store.cube!;
    const stay = hosts.slice(0, 36);
    const go = hosts.slice(36);
    const before = stay.map((h) => h.deltasReceived + h.statesReceived);
    const eventsBefore = s.controller.store.events.length;
    // 24 of 60 leave in one batch: 36 hosts stay inside the 2-ary 6-cube's region, no re-embedding.
    s.controller.leaveMany(go.map((h) => ({ hostId: h.hostId, reason: 'failure' as const })));
    for (const h of stay) await h.roundTrip();
    expect(s.controller.store.cube!.epoch).toBe(epoch);
    expect(viewsMatch(s, stay)).toBe(true);
    expectOwnershipExact(s);
    const received = stay.map((h, i) => h.deltasReceived + h.statesReceived - before[i]!);
    expect(Math.max(...received)).toBe(1);
    expect(received.filter((n) => n === 1).length).toBeGreaterThan(0);
    expect(s.controller.store.events.slice(eventsBefore).map((e) => [e.type, e.message])).toEqual([['failure', '24 hosts left at once, 24 of them failed (36 hosts)']]);
    // A small batch still names each host.
    s.controller.leaveMany(stay.slice(0, 2).map((h) => ({ hostId: h.hostId, reason: 'leave' as const })));
    expect(s.controller.store.events.slice(-2).map((e) => e.hostId)).toEqual(stay.slice(0, 2).map((h) => h.hostId));
  });

  it('hands sockets that close together to the controller as one batch', async () => {
    const s = await server();
    const hosts: VirtualHost[] = [];
    for (let i = 0; i < 40; i++) hosts.push(await host(s));
    const batches: number[] = [];
    const leaveMany = s.controller.leaveMany.bind(s.controller);
    s.controller.leaveMany = (leaves, options) => {
      batches.push(leaves.length);
      leaveMany(leaves, options);
    };
    for (const h of hosts.slice(10)) h.close();
    await eventually(() => s.controller.store.hosts.size === 10);
    expect(batches).toEqual([30]);
    await eventually(() => viewsMatch(s, hosts.slice(0, 10)), 5000, 'the remaining views to match');
  });

  it('refuses a second join on one connection, and everything before a join', async () => {
    const s = await server();
    const h = await host(s);
    await expect(h.request('host:join', { protocol: PROTOCOL_VERSION })).rejects.toMatchObject({ code: 'ALREADY_JOINED' });
    const stranger = new VirtualHost(s.url);
    clients.push(stranger);
    await expect(stranger.request('channel:list', {})).rejects.toMatchObject({ code: 'NOT_JOINED', name: 'NotJoinedError' });
    await expect(stranger.request('host:join', { protocol: 99 as typeof PROTOCOL_VERSION })).rejects.toMatchObject({ code: 'BAD_PAYLOAD' });
    // A version-1 page (before stripes) would take a stripe's offer for its link's replacement.
    await expect(stranger.request('host:join', { protocol: 1 as typeof PROTOCOL_VERSION })).rejects.toMatchObject({ code: 'BAD_PAYLOAD' });
  });
});

describe('signal relay', () => {
  it('forwards between linked hosts of the current epoch only', async () => {
    const s = await server();
    const hosts: VirtualHost[] = [];
    for (let i = 0; i < 12; i++) hosts.push(await host(s));
    await eventually(() => viewsMatch(s, hosts));
    const a = hosts[0]!;
    const linked = hosts.find((h) => [...a.neighbours.values()].includes(h.hostId))!;
    const unlinked = hosts.find((h) => h !== a && ![...a.neighbours.values()].includes(h.hostId))!;
    expect(linked).toBeDefined();
    expect(unlinked).toBeDefined();

    const linkedSignals: unknown[] = [];
    linked.socket.on('signal:receive', (message) => linkedSignals.push(message));
    const received = new Promise<unknown>((resolve) => linked.socket.once('signal:receive', resolve));
    const offer = { type: 'offer' as const, sdp: 'v=0\r\n' };
    await a.request('signal:send', { to: linked.hostId, epoch: a.epoch, data: offer });
    expect(await received).toEqual({ from: a.hostId, epoch: a.epoch, data: offer });
    // A later stripe's signal says which; one past the link's stripes is refused.
    await a.request('signal:send', { to: linked.hostId, epoch: a.epoch, data: offer, stripe: LIMITS.maxStripesPerLink - 1 });
    await expect(a.request('signal:send', { to: linked.hostId, epoch: a.epoch, data: offer, stripe: LIMITS.maxStripesPerLink })).rejects.toMatchObject({
      code: 'BAD_PAYLOAD',
    });

    let leaked = false;
    unlinked.socket.on('signal:receive', () => (leaked = true));
    await expect(a.request('signal:send', { to: unlinked.hostId, epoch: a.epoch, data: offer })).rejects.toMatchObject({
      code: 'NOT_LINKED',
    });
    await expect(a.request('signal:send', { to: linked.hostId, epoch: a.epoch - 1, data: offer })).rejects.toMatchObject({
      code: 'STALE_EPOCH',
    });
    await expect(a.request('signal:send', { to: 'h999', epoch: a.epoch, data: offer })).rejects.toMatchObject({ code: 'UNKNOWN_HOST' });
    await Promise.all([unlinked.roundTrip(), linked.roundTrip()]);
    expect(leaked).toBe(false);
    // The refused offers reached nobody, the stale one not its addressee either.
    expect(linkedSignals).toEqual([
      { from: a.hostId, epoch: a.epoch, data: offer },
      { from: a.hostId, epoch: a.epoch, data: offer, stripe: LIMITS.maxStripesPerLink - 1 },
    ]);
  });
});

describe('channels and subscriptions', () => {

  it('publishes, lists, asks the publisher for routes, and ends with its publisher', async () => {
    const s = await server();
    const publisher = await host(s);
    const viewer = await host(s);
    const late = await host(s);
    const { channel } = await publisher.request('channel:publish', { name: 'cam', kind: 'video', codec: VIDEO });
    expect(channel).toMatchObject({ name: 'cam', publisher: publisher.hostId, kind: 'video' });
    expect(publisher.ids.has(channel.anchor)).toBe(true);
    await eventually(() => viewer.channels.has('cam'));
    expect((await late.request('channel:list', {})).channels.map((c) => c.name)).toEqual(['cam']);
    await expect(viewer.request('channel:publish', { name: 'cam', kind: 'video', codec: VIDEO })).rejects.toMatchObject({
      code: 'CHANNEL_EXISTS',
    });
    await expect(viewer.request('channel:unpublish', { name: 'cam' })).rejects.toMatchObject({ code: 'NOT_PUBLISHER' });

    const { subscription } = await viewer.request('subscription:create', { channel: 'cam', maxLatencyMs: 150, pipeline: [] });
    await eventually(() => publisher.routeRequests.length === 1);
    expect(publisher.routeRequests[0]).toMatchObject({
      subscriptionId: subscription.subscriptionId,
      subscriber: viewer.hostId,
      maxLatencyMs: 150,
      policy: 'greedy',
    });
    expect(viewer.ids.has(publisher.routeRequests[0]!.target)).toBe(true);
    expect(await viewer.request('subscription:report', { subscriptionId: subscription.subscriptionId, latencyMs: 40, hops: 2 })).toMatchObject({
      boundMet: true,
    });
    await expect(publisher.request('subscription:create', { channel: 'cam', maxLatencyMs: 100, pipeline: [] })).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
    });
    await expect(viewer.request('subscription:create', { channel: 'nope', maxLatencyMs: 100, pipeline: [] })).rejects.toMatchObject({
      code: 'UNKNOWN_CHANNEL',
    });

    const ended = new Promise((resolve) => viewer.socket.once('subscription:updated', resolve));
    publisher.close();
    expect(await ended).toMatchObject({ subscriptionId: subscription.subscriptionId, state: 'ended' });
    await eventually(() => !viewer.channels.has('cam') && s.controller.store.subscriptions.size === 0);
  });

  it('closing the server is not every host leaving: no host is told a channel or subscription ended', async () => {
    const s = await server();
    const publisher = await host(s);
    const viewer = await host(s);
    await publisher.request('channel:publish', { name: 'cam', kind: 'video', codec: VIDEO });
    await viewer.request('subscription:create', { channel: 'cam', maxLatencyMs: 150, pipeline: [] });
    const told: string[] = [];
    viewer.socket.on('channel:removed', ({ name }) => told.push(`removed ${name}`));
    viewer.socket.on('subscription:updated', ({ state }) => told.push(`subscription ${state}`));
    const gone = new Promise((resolve) => viewer.socket.once('disconnect', resolve));
    await s.close();
    await gone;
    // Whatever the server sent before the viewer's socket closed has arrived by its disconnect.
    expect(told).toEqual([]);
  });

  it('says why a channel ended: unpublished, its publisher left, or its publisher lost its connection', async () => {
    const s = await server();
    const viewer = await host(s);
    const reasons: string[] = [];
    viewer.socket.on('channel:removed', ({ name, reason }) => reasons.push(`removed ${name}: ${reason}`));
    viewer.socket.on('subscription:updated', ({ channel, endReason }) => reasons.push(`ended ${channel}: ${endReason}`));
    const publish = async (name: string) => {
      const publisher = await host(s);
      await publisher.request('channel:publish', { name, kind: 'video', codec: VIDEO });
      await viewer.request('subscription:create', { channel: name, maxLatencyMs: 150, pipeline: [] });
      return publisher;
    };
    await (await publish('a')).request('channel:unpublish', { name: 'a' });
    await (await publish('b')).request('host:leave', {});
    // A transport that closes under the host: it may come back.
    (s.io.of('/').sockets.get((await publish('c')).socket.id!)!.conn as unknown as { close(): void }).close();
    await eventually(() => reasons.length === 6);
    expect(reasons).toEqual([
      'ended a: unpublished',
      'removed a: unpublished',
      'ended b: publisher-left',
      'removed b: publisher-left',
      'ended c: publisher-lost',
      'removed c: publisher-lost',
    ]);
  });

  it('enforces the per-host limits', async () => {
    const s = await server();
    const a = await host(s);
    const b = await host(s);
    for (let i = 0; i < 4; i++) await a.request('channel:publish', { name: `c${i}`, kind: 'video', codec: VIDEO });
    await expect(a.request('channel:publish', { name: 'c4', kind: 'video', codec: VIDEO })).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED' });
    for (let i = 0; i < 16; i++) await b.request('subscription:create', { channel: `c${i % 4}`, maxLatencyMs: 100, pipeline: [] });
    await expect(b.request('subscription:create', { channel: 'c0', maxLatencyMs: 100, pipeline: [] })).rejects.toMatchObject({
      code: 'LIMIT_EXCEEDED',
    });
  });
});

/** Everything the server's state is made of, as one comparable value. */
function digest(s: RunningServer): string {
  const st = s.controller.store;
  const cube = st.cube;
  return JSON.stringify({
    hosts: [...st.hosts.values()].map((h) => [h.hostId, h.emulation ?? null]),
    owners: cube ? Array.from({ length: cube.cube.size }, (_, id) => cube.ownership.ownerOf(id)) : null,
    epoch: cube?.epoch,
    revision: cube?.revision,
    channels: [...st.channels.values()],
    subscriptions: [...st.subscriptions.values()].map((x) => ({ ...x, lastSwapAttempt: null })),
    links: [...st.links].map(([from, peers]) => [from, [...peers]]),
    policy: st.policy,
  });
}

describe('malformed input', () => {
  it('survives 10,000 malformed payloads across every event, state unchanged', async () => {
    const s = await server({ rateLimit: { burst: 1e9, perSecond: 1e9 } });
    const a = await host(s);
    const b = await host(s);
    await a.request('channel:publish', {
      name: 'cam',
      kind: 'video',
      codec: VIDEO,
    });
    await b.request('subscription:create', { channel: 'cam', maxLatencyMs: 100, pipeline: [] });
    const stranger = io(s.url, { transports: ['websocket'], reconnection: false, forceNew: true });
    clients.push({ close: () => stranger.disconnect() });
    const before = digest(s);

    const events = [...Object.keys(CLIENT_EVENT_SCHEMAS), 'frob:nicate', 'host:rejoin', ''];
    const schemas = CLIENT_EVENT_SCHEMAS as Record<string, { safeParse(v: unknown): { success: boolean } }>;
    const mutant = fc.oneof(
      fc.jsonValue(),
      fc.record({ to: fc.string(), epoch: fc.oneof(fc.double(), fc.string()), data: fc.jsonValue() }),
      fc.record({ name: fc.string({ maxLength: 200 }), kind: fc.string(), codec: fc.jsonValue() }),
      fc.record({ channel: fc.jsonValue(), maxLatencyMs: fc.double(), pipeline: fc.jsonValue() }),
      fc.record({ links: fc.array(fc.record({ hostId: fc.string(), state: fc.string(), rttMs: fc.double() }), { maxLength: 3 }) }),
      fc.constant('x'.repeat(100_000)),
      fc.record({ protocol: fc.integer(), name: fc.string({ minLength: 65, maxLength: 80 }) }),
    );
    const cases = fc.sample(fc.tuple(fc.constantFrom(...events), mutant, fc.boolean()), { numRuns: 12_000, seed: 42 });
    const malformed = cases.filter(([event, payload]) => !schemas[event]?.safeParse(payload).success).slice(0, 10_000);
    expect(malformed).toHaveLength(10_000);

    const acks = await Promise.all(
      malformed.map(([event, payload, fromStranger]) =>
        (fromStranger ? stranger : a.socket).timeout(20_000).emitWithAck(event as 'channel:list', payload as never) as Promise<Ack>,
      ),
    );
    expect(acks.every((ack) => ack.ok === false)).toBe(true);
    const codes = new Set(acks.map((ack) => (ack.ok ? 'ok' : ack.code)));
    expect([...codes].sort()).toEqual(['BAD_PAYLOAD']);
    expect(digest(s)).toBe(before);
    // Refusals reach the room at most once a second, with their count: all of them, in the end.
    await eventually(() => s.controller.store.counters.rejectedPayloads === 10_000, 5000, 'every refusal counted');

    // Still up and serving.
    const c = await host(s);
    expect((await c.request('channel:list', {})).channels).toHaveLength(1);
    expect((await fetch(`${s.url}/healthz`)).ok).toBe(true);
  }, 120_000);

  it('rate-limits a flooding socket without touching others', async () => {
    const s = await server({ rateLimit: { burst: 20, perSecond: 5 } });
    const flood = await host(s);
    const calm = await host(s);
    const acks = await Promise.all(Array.from({ length: 60 }, () => flood.socket.timeout(5000).emitWithAck('channel:list', {})));
    expect(acks.filter((a) => !a.ok && a.code === 'RATE_LIMITED').length).toBeGreaterThanOrEqual(30);
    expect((await calm.request('channel:list', {})).ok).toBe(true);
  });
});

describe('link measurements', () => {
  it('keep each host\'s latest report only, and go when the host leaves', async () => {
    const s = await server();
    const hosts: VirtualHost[] = [];
    for (let i = 0; i < 6; i++) hosts.push(await host(s));
    await eventually(() => viewsMatch(s, hosts));
    const reporter = hosts[0]!;
    const [first, second] = [...new Set(reporter.neighbours.values())];
    expect(second).toBeDefined();
    await reporter.request('link:report', { links: [{ hostId: first!, state: 'open', rttMs: 10 }, { hostId: second!, state: 'open', rttMs: 20 }] });
    expect([...s.controller.store.links.get(reporter.hostId)!.keys()].sort()).toEqual([first, second].sort());
    // The next report no longer lists `first`: what was said of it is gone.
    await reporter.request('link:report', { links: [{ hostId: second!, state: 'open', rttMs: 25 }] });
    expect([...s.controller.store.links.get(reporter.hostId)!]).toEqual([[second, expect.objectContaining({ rttMs: 25 })]]);
    reporter.close();
    await eventually(() => !s.controller.store.hosts.has(reporter.hostId));
    expect(s.controller.store.links.has(reporter.hostId)).toBe(false);
  });
});

/** An observer of the default room: the snapshots and events it got, its view (snapshot plus deltas), and its controls. */
async function observer(s: RunningServer, token?: string) {
  const socket = io(`${s.url}/observer`, { transports: ['websocket'], reconnection: false, forceNew: true, auth: token ? { token } : {} });
  clients.push({ close: () => socket.disconnect() });
  const snapshots: ObserverSnapshot[] = [];
  const events: ObserverEvent[] = [];
  // The overlay as this observer knows it: the first snapshot, then every delta applied.
  let state: ObserverSnapshot | undefined;
  socket.on('observer:snapshot', (snap: ObserverSnapshot) => {
    snapshots.push(snap);
    state = snap;
  });
  socket.on('observer:delta', (delta: ObserverDelta) => (state = applyObserverDelta(state!, delta)));
  socket.on('observer:event', (event: ObserverEvent) => events.push(event));
  await eventually(() => snapshots.length > 0);
  const control = (event: keyof typeof OBSERVER_EVENT_SCHEMAS, payload: unknown) =>
    socket.timeout(5000).emitWithAck(event, payload) as Promise<Ack>;
  return { socket, snapshots, events, control, state: () => state! };
}

describe('swaps', () => {
  /**
   * Twenty hosts reporting RTTs from points of a plane, a publisher, and a subscriber far from
   * its anchor in the cube but physically beside the publisher, with a 5 ms bound.
   */
  async function farSubscriberBesidePublisher(options: Partial<ServerOptions> = {}) {
    const s = await server({ controller: { swapDepth: 1, swapStrategy: 'depth', swapCooldownMs: 0 }, ...options });
    const hosts: VirtualHost[] = [];
    for (let i = 0; i < 20; i++) hosts.push(await host(s));
    await eventually(() => viewsMatch(s, hosts));
    const publisher = hosts[0]!;
    const { channel } = await publisher.request('channel:publish', {
      name: 'cam',
      kind: 'video',
      codec: VIDEO,
    });
    const cube = s.controller.store.cube!;
    // The subscriber: a host far from the anchor in the cube, but physically beside the publisher.
    const subscriber = hosts.slice(1).find((h) => [...h.ids].every((id) => cube.cube.hopDistance(channel.anchor, id) >= 2))!;
    expect(subscriber).toBeDefined();
    const place = new Map(hosts.map((h, i) => [h.hostId, [(i * 37) % 100, (i * 61) % 100] as const]));
    place.set(subscriber.hostId, [place.get(publisher.hostId)![0] + 1, place.get(publisher.hostId)![1]]);
    const rtt = (a: string, b: string) => 2 * Math.hypot(place.get(a)![0] - place.get(b)![0], place.get(a)![1] - place.get(b)![1]) + 1;
    // Every host reports its links' RTTs, as peers do; the server learns coordinates from them.
    for (let round = 0; round < 40; round++) {
      await Promise.all(
        hosts.map((h) =>
          h.request('link:report', {
            links: [...new Set(h.neighbours.values())].map((peer) => ({ hostId: peer, state: 'open' as const, rttMs: rtt(h.hostId, peer) })),
          }),
        ),
      );
    }
    const { subscription } = await subscriber.request('subscription:create', { channel: 'cam', maxLatencyMs: 5, pipeline: [] });
    await eventually(() => publisher.routeRequests.length === 1);
    const before = publisher.routeRequests[0]!.target;
    expect(cube.cube.hopDistance(channel.anchor, before)).toBeGreaterThanOrEqual(2);
    return { s, hosts, publisher, subscriber, subscription, channel, cube };
  }

  it('swaps a subscriber that misses its bound next to its publisher, from reported RTTs', async () => {
    const { s, hosts, publisher, subscriber, subscription, channel, cube } = await farSubscriberBesidePublisher();
    for (let i = 0; i < 2; i++) {
      await subscriber.request('subscription:report', { subscriptionId: subscription.subscriptionId, latencyMs: 80, hops: 3 });
    }
    const swap = s.controller.store.events.find((e) => e.type === 'swap');
    expect(swap).toMatchObject({ hostId: subscriber.hostId });
    const details = swap!.details as { take: number; latencyBefore: number; latencyAfter: number };
    expect(details.latencyAfter).toBeLessThan(details.latencyBefore);
    // The subscriber now owns a neighbour of the anchor, is told so, and the route moves there.
    await eventually(() => viewsMatch(s, hosts) && subscriber.ids.has(details.take));
    expect(cube.cube.hopDistance(channel.anchor, details.take)).toBe(1);
    await eventually(() => publisher.routeRequests.length === 2);
    expect(publisher.routeRequests[1]!.target).toBe(details.take);
  });

  it('by default looks two hops deep, says how deep each swap went, and shows observers the planner; the exhaustive one keeps to its budget', async () => {
    const { s, subscriber, subscription } = await farSubscriberBesidePublisher({ adminToken: 'sesame', controller: { swapCooldownMs: 0 } });
    const admin = await observer(s, 'sesame');
    expect(admin.state().swaps).toEqual({ strategy: 'depth', depth: 2 });
    for (let i = 0; i < 2; i++) await subscriber.request('subscription:report', { subscriptionId: subscription.subscriptionId, latencyMs: 80, hops: 3 });
    const swap = s.controller.store.events.find((e) => e.type === 'swap')!;
    const details = swap.details as { depth: number; strategy: string; maxDepth: number; take: number };
    expect(details).toMatchObject({ strategy: 'depth', maxDepth: 2 });
    expect(details.depth).toBe(s.controller.store.cube!.cube.hopDistance(s.controller.store.channels.get('cam')!.anchor, details.take));
    expect(swap.message).toMatch(new RegExp(`a position ${details.depth} hops? from the publisher \\(depth rule, up to 2 hops\\)$`));

    // With no positions to evaluate, the exhaustive planner makes no swap however often the bound is missed.
    const starved = await farSubscriberBesidePublisher({ controller: { swapStrategy: 'best', swapDepth: 3, swapBudget: 0, swapCooldownMs: 0 } });
    for (let i = 0; i < 4; i++) await starved.subscriber.request('subscription:report', { subscriptionId: starved.subscription.subscriptionId, latencyMs: 80, hops: 3 });
    expect(starved.s.controller.store.events.some((e) => e.type === 'swap')).toBe(false);
  });

  it("an observer's swap check swaps a subscriber before any bound is missed, and says what it did", async () => {
    const { s, hosts, publisher, subscriber, subscription, channel, cube } = await farSubscriberBesidePublisher({ adminToken: 'sesame' });
    const admin = await observer(s, 'sesame');
    expect(await admin.control('control:swap-check', { hostId: publisher.hostId })).toMatchObject({ ok: false, code: 'INVALID_REQUEST', message: expect.stringMatching(/subscribes to nothing/) });
    expect(await admin.control('control:swap-check', { hostId: 'h404' })).toMatchObject({ ok: false, code: 'UNKNOWN_HOST' });
    const result = (await admin.control('control:swap-check', { hostId: subscriber.hostId })) as Ack<SwapCheckResult>;
    expect(result).toMatchObject({ ok: true, checked: [{ subscriptionId: subscription.subscriptionId, channel: 'cam', swap: { displaced: expect.any(String) } }] });
    const { swap } = (result as SwapCheckResult).checked[0]!;
    expect(swap!.latencyAfterMs).toBeLessThan(swap!.latencyBeforeMs);
    await eventually(() => viewsMatch(s, hosts) && [...subscriber.ids].some((id) => cube.cube.hopDistance(channel.anchor, id) === 1));
    await eventually(() => admin.events.some((e) => e.type === 'swap' && e.hostId === subscriber.hostId));
    // Where it stands now nothing is nearer: a second check makes no swap.
    const again = (await admin.control('control:swap-check', { hostId: subscriber.hostId })) as Ack<SwapCheckResult>;
    expect(again).toMatchObject({ ok: true, checked: [{ subscriptionId: subscription.subscriptionId }] });
    expect((again as SwapCheckResult).checked[0]!.swap).toBeUndefined();
    expect(publisher.routeRequests.length).toBeGreaterThanOrEqual(2);
  });
});

describe('observer', () => {

  it('feeds the topology and events; controls are off without a server token', async () => {
    const s = await server();
    const hosts = [await host(s), await host(s), await host(s)];
    const o = await observer(s, 'anything');
    expect(o.snapshots[0]!.controls).toEqual({ enabled: false, reason: expect.stringMatching(/CUBECAST_ADMIN_TOKEN/) });
    expect(o.snapshots[0]!.hosts.map((h) => h.hostId).sort()).toEqual(hosts.map((h) => h.hostId).sort());
    expect(o.events.filter((e) => e.type === 'join')).toHaveLength(3);
    expect(await o.control('control:kill', { hostId: hosts[0]!.hostId })).toMatchObject({ ok: false, code: 'CONTROLS_DISABLED' });
    expect(await o.control('control:policy', { policy: 'odr' })).toMatchObject({ ok: false, code: 'CONTROLS_DISABLED' });
    hosts.push(await host(s));
    await eventually(() => o.state().hosts.length === 4 && o.events.filter((e) => e.type === 'join').length === 4);
    expect(s.controller.store.hosts.size).toBe(4);
    expect(o.snapshots).toHaveLength(1);
  });

  it("keeps every observer's view, snapshot plus deltas, equal to the server's through joins, leaves and reports", async () => {
    const s = await server();
    const observers = [await observer(s), await observer(s)];
    const hosts = [await host(s), await host(s), await host(s)];
    await hosts[0]!.request('channel:publish', { name: 'cam', kind: 'video', codec: VIDEO });
    await hosts[1]!.request('subscription:create', { channel: 'cam', maxLatencyMs: 100, pipeline: [] });
    const late = await observer(s);
    hosts.push(await host(s), await host(s));
    hosts[2]!.close();
    await hosts[1]!.request('link:report', { links: [{ hostId: hosts[0]!.hostId, state: 'open', rttMs: 12, channels: ['cam'] }] });
    expect(await hosts[1]!.socket.timeout(5000).emitWithAck('link:report', { links: [{ hostId: hosts[0]!.hostId, state: 'open', channels: ['no/slash'] }] })).toMatchObject({ ok: false, code: 'BAD_PAYLOAD' });
    await eventually(() => s.controller.store.hosts.size === 4);
    const sorted = (view: ObserverSnapshot) => {
      const { time: _time, server: _server, controls: _controls, ...rest } = view;
      return { ...rest, hosts: [...rest.hosts].sort((a, b) => a.hostId.localeCompare(b.hostId)), links: [...rest.links].sort((a, b) => (a.a + a.b).localeCompare(b.a + b.b)) };
    };
    for (const o of [...observers, late]) {
      await eventually(() => JSON.stringify(sorted(o.state())) === JSON.stringify(sorted(s.controller.snapshot(o.state().controls, 0))));
      expect(o.snapshots).toHaveLength(1);
      const reports = o.state().links.flatMap((link) => link.reports).filter((r) => r.from === hosts[1]!.hostId);
      expect(reports).toContainEqual(expect.objectContaining({ rttMs: 12, channels: ['cam'] }));
    }
  });

  it('shows the overlay only to observers with the observer or admin token when the server has an observer token', async () => {
    const s = await server({ adminToken: 'sesame', observerToken: 'peek' });
    await host(s);
    for (const auth of [{}, { token: 'peeK' }, { token: 'sesam' }]) {
      const socket = io(`${s.url}/observer`, { transports: ['websocket'], reconnection: false, forceNew: true, auth });
      clients.push({ close: () => socket.disconnect() });
      const refusal = await new Promise<Error & { data?: unknown }>((resolve) => socket.once('connect_error', resolve));
      expect([refusal.message, refusal.data]).toEqual(['watching this server needs the observer token', { code: 'FORBIDDEN' }]);
    }
    expect((await observer(s, 'peek')).snapshots[0]!.controls.enabled).toBe(false);
    const admin = await observer(s, 'sesame');
    expect(admin.snapshots[0]!.controls).toEqual({ enabled: true });
    expect(admin.snapshots[0]!.hosts).toHaveLength(1);
  });

  it('refuses controls without the token and carries them out with it', async () => {
    const s = await server({ adminToken: 'sesame' });
    const hosts = [await host(s), await host(s), await host(s), await host(s)];
    const viewer = await observer(s);
    expect(viewer.snapshots[0]!.controls.enabled).toBe(false);
    expect(await viewer.control('control:kill', { hostId: hosts[0]!.hostId })).toMatchObject({ ok: false, code: 'FORBIDDEN' });
    const wrong = await observer(s, 'sesamf');
    expect(await wrong.control('control:reembed', {})).toMatchObject({ ok: false, code: 'FORBIDDEN' });
    expect(s.controller.store.hosts.size).toBe(4);

    const admin = await observer(s, 'sesame');
    expect(admin.snapshots[0]!.controls).toEqual({ enabled: true });
    expect(await admin.control('control:kill', { hostId: 'h404' })).toMatchObject({ ok: false, code: 'UNKNOWN_HOST' });
    expect(await admin.control('control:kill', { hostId: hosts[3]!.hostId })).toMatchObject({ ok: true });
    await eventually(() => s.controller.store.hosts.size === 3);
    await eventually(() => admin.events.some((e) => e.type === 'failure' && e.hostId === hosts[3]!.hostId));

    const policy = new Promise((resolve) => hosts[0]!.socket.once('policy:changed', resolve));
    expect(await admin.control('control:policy', { policy: 'odr' })).toMatchObject({ ok: true });
    expect(await policy).toEqual({ policy: 'odr' });

    // The algorithm's two integers: to one host, or to every host of the room; logged.
    const toOne = new Promise((resolve) => hosts[2]!.socket.once('algorithm:control', resolve));
    expect(await admin.control('control:algorithm', { hostId: hosts[2]!.hostId, a: 3, b: 4 })).toMatchObject({ ok: true, hosts: 1 });
    expect(await toOne).toEqual({ a: 3, b: 4 });
    const toAll = hosts.slice(0, 3).map((h) => new Promise((resolve) => h.socket.once('algorithm:control', resolve)));
    expect(await admin.control('control:algorithm', { a: 1, b: 1 })).toMatchObject({ ok: true, hosts: 3 });
    expect(await Promise.all(toAll)).toEqual([{ a: 1, b: 1 }, { a: 1, b: 1 }, { a: 1, b: 1 }]);
    expect(await admin.control('control:algorithm', { hostId: 'h404', a: 1, b: 1 })).toMatchObject({ ok: false, code: 'UNKNOWN_HOST' });
    expect(await admin.control('control:algorithm', { a: 1.5, b: 1 })).toMatchObject({ ok: false, code: 'BAD_PAYLOAD' });
    await eventually(() => admin.events.some((e) => e.type === 'algorithm' && e.message.includes('(1, 1) at every host')));

    const emulation = new Promise((resolve) => hosts[1]!.socket.once('emulation:set', resolve));
    expect(await admin.control('control:emulation', { hostId: hosts[1]!.hostId, emulation: { position: [10, 20], upKbps: 500 } })).toMatchObject({ ok: true });
    expect(await emulation).toEqual({ position: [10, 20], upKbps: 500 });

    const epoch = hosts[0]!.epoch;
    expect(await admin.control('control:reembed', { k: 2, n: 3 })).toMatchObject({ ok: true, k: 2, n: 3, epoch: epoch + 1 });
    await eventually(() => viewsMatch(s, hosts.slice(0, 3)) && hosts[0]!.k === 2);
    expect(await admin.control('control:reembed', { k: 2, n: 1 })).toMatchObject({ ok: false, code: 'INVALID_REQUEST' });
    expect(await admin.control('control:reembed', { k: 2 })).toMatchObject({ ok: false, code: 'INVALID_REQUEST' });
    expect(await admin.control('control:reembed', { k: 'two' })).toMatchObject({ ok: false, code: 'BAD_PAYLOAD' });
  });
});

describe('SPA reports', () => {
  it('tells the subscribers whose pipeline died at a branch point, once, and shows it to observers', async () => {
    const s = await server();
    const publisher = await host(s);
    const thin = await host(s);
    const full = await host(s);
    await publisher.request('channel:publish', { name: 'cam', kind: 'video', codec: VIDEO });
    await eventually(() => thin.channels.has('cam') && full.channels.has('cam'));
    const pipeline = [{ spa: 'thin', config: { maxLayer: 0 } }];
    const { subscription } = await thin.request('subscription:create', { channel: 'cam', maxLatencyMs: 500, pipeline });
    await full.request('subscription:create', { channel: 'cam', maxLatencyMs: 500, pipeline: [] });
    const report = (state: 'running' | 'dead') => ({
      spas: [{ channel: 'cam', variant: pipelineVariant(pipeline), pipeline: ['thin'], state, stages: [{ name: 'thin', chunksIn: 5, meanMicros: 12.5, errors: 0 }], ...(state === 'dead' && { error: 'thin ran 150 ms on one chunk (budget 100 ms) and was stopped' }) }],
    });
    await publisher.request('spa:report', report('running'));
    expect(s.controller.snapshot({ enabled: false }, 0).hosts.find((h) => h.hostId === publisher.hostId)!.spas).toEqual(report('running').spas);
    await publisher.request('spa:report', report('dead'));
    await publisher.request('spa:report', report('dead')); // the same death again: no second notice
    await Promise.all([thin.roundTrip(), full.roundTrip()]);
    // The server's words: a reporter's text never reaches subscribers.
    expect(thin.spaFailures).toEqual([
      { subscriptionId: subscription.subscriptionId, channel: 'cam', host: publisher.hostId, pipeline: ['thin'], message: 'thin ran 150 ms on one chunk (budget 100 ms) and was stopped' },
    ]);
    expect(full.spaFailures).toEqual([]);
    expect(s.controller.store.events.some((e) => e.type === 'spa' && e.hostId === publisher.hostId)).toBe(true);
    await expect(publisher.request('spa:report', { spas: [{ channel: 'cam', variant: -1, pipeline: [], state: 'dead', stages: [] }] })).rejects.toMatchObject({ code: 'BAD_PAYLOAD' });
  });
});

