import { pipelineVariant, type Ack, type SpaSpec } from '@cubecast/protocol';
import { io, type Socket } from 'socket.io-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from './log.js';
import { startServer, type RunningServer, type ServerOptions } from './server.js';
import { eventually, TEST_VIDEO_CODEC as VIDEO, VirtualHost } from './testing/virtual-host.js';


const servers: RunningServer[] = [];
const closers: (() => void)[] = [];

async function server(options: Partial<ServerOptions> = {}): Promise<RunningServer> {
  const s = await startServer({ port: 0, host: '127.0.0.1', logger: silentLogger, snapshotIntervalMs: 20, ...options });
  servers.push(s);
  return s;
}

async function host(s: RunningServer): Promise<VirtualHost> {
  const h = new VirtualHost(s.url);
  closers.push(() => h.close());
  return h.join();
}

async function hosts(s: RunningServer, count: number): Promise<VirtualHost[]> {
  const all: VirtualHost[] = [];
  for (let i = 0; i < count; i++) all.push(await host(s));
  return all;
}

function observer(s: RunningServer, auth: object = {}): Socket {
  const socket = io(`${s.url}/observer`, { transports: ['websocket'], reconnection: false, forceNew: true, auth });
  closers.push(() => socket.disconnect());
  return socket;
}

const connected = (socket: Socket) =>
  new Promise<'connected' | string>((resolve) => {
    socket.once('connect', () => resolve('connected'));
    socket.once('connect_error', (error) => resolve(error.message));
  });

async function metrics(s: RunningServer): Promise<Record<string, number>> {
  return (await (await fetch(`${s.url}/metrics`)).json()) as Record<string, number>;
}

/** The server still answers and still takes a new host. */
async function expectServing(s: RunningServer): Promise<void> {
  expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
  const fresh = await host(s);
  expect(fresh.hostId).toMatch(/^h\d+$/);
}

afterEach(async () => {
  vi.restoreAllMocks();
  for (const close of closers.splice(0)) close();
  for (const s of servers.splice(0)) await s.close();
});

describe('events', () => {
  it('refuses Object.prototype names as unknown events, and counts them against the rate limit', async () => {
    const s = await server({ rateLimit: { burst: 5, perSecond: 0.001 } });
    const h = await host(s); // the join took one token
    const send = (event: string) => h.socket.timeout(2000).emitWithAck(event as 'channel:list', {}) as Promise<Ack>;
    for (const event of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      expect(await send(event), event).toMatchObject({ ok: false, code: 'BAD_PAYLOAD', message: `unknown event "${event}"` });
    }
    expect(await send('valueOf')).toMatchObject({ ok: false, code: 'RATE_LIMITED' });
  });
});

describe('reports', () => {
  it('ignores what a host reports about hosts it is not linked to', async () => {
    const s = await server();
    const all = await hosts(s, 12);
    const { ownership } = s.controller.store.cube!;
    const reporter = all[0]!;
    const stranger = all.find((h) => h !== reporter && !ownership.linkedHosts(reporter.hostId).has(h.hostId))!;
    const neighbour = all.find((h) => ownership.linkedHosts(reporter.hostId).has(h.hostId))!;
    expect(stranger).toBeDefined();
    await reporter.request('link:report', {
      links: [
        { hostId: stranger.hostId, state: 'failed', rttMs: 1 },
        { hostId: neighbour.hostId, state: 'open', rttMs: 9 },
      ],
    });
    expect([...s.controller.store.links.get(reporter.hostId)!.keys()]).toEqual([neighbour.hostId]);
    expect(s.controller.store.events.some((e) => e.type === 'failure' && e.details?.peer === stranger.hostId)).toBe(false);
    // A stall, then a failure, of a real link: each logged once, when the state changes.
    for (const state of ['stalled', 'stalled', 'failed', 'failed'] as const) await reporter.request('link:report', { links: [{ hostId: neighbour.hostId, state }] });
    const logged = s.controller.store.events.filter((e) => e.type === 'failure' && e.details?.peer === neighbour.hostId).map((e) => e.message);
    expect(logged).toEqual([`${reporter.hostId} reports its link to ${neighbour.hostId} stalled`, `${reporter.hostId} reports its link to ${neighbour.hostId} failed`]);
  });

  it('lets only a host on a subscription route end its pipeline, and tells subscribers in the server words', async () => {
    const s = await server();
    const all = await hosts(s, 12);
    const [publisher, subscriber] = all as [VirtualHost, VirtualHost];
    await publisher.request('channel:publish', { name: 'cam', kind: 'video', codec: VIDEO });
    const pipeline: SpaSpec[] = [{ spa: 'thin', config: { maxLayer: 0 } }];
    await subscriber.request('subscription:create', { channel: 'cam', maxLatencyMs: 500, pipeline });
    const { cube, ownership } = s.controller.store.cube!;
    const anchor = s.controller.store.channels.get('cam')!.anchor;
    const target = [...s.controller.store.subscriptions.values()][0]!.target;
    const onPath = (h: VirtualHost) => ownership.idsOf(h.hostId).some((id) => cube.hopDistance(anchor, id) + cube.hopDistance(id, target) === cube.hopDistance(anchor, target));
    const outsider = all.find((h) => !onPath(h))!;
    expect(outsider).toBeDefined();
    const dead = { spas: [{ channel: 'cam', variant: pipelineVariant(pipeline), pipeline: ['thin'], state: 'dead' as const, stages: [], error: 'CLICK HERE: evil.example' }] };
    await outsider.request('spa:report', dead);
    await subscriber.request('channel:list', {}); // a round trip: anything sent before it has arrived
    expect(subscriber.spaFailures).toEqual([]);
    await publisher.request('spa:report', dead);
    await subscriber.request('channel:list', {});
    expect(subscriber.spaFailures).toHaveLength(1);
    expect(subscriber.spaFailures[0]!.message).toBe('its branch point reported it stopped');
  });
});

describe('limits', () => {
  it('refuses a pipeline longer than a route setup carries', async () => {
    const s = await server();
    const [publisher, subscriber] = await hosts(s, 2);
    await publisher!.request('channel:publish', { name: 'cam', kind: 'video', codec: VIDEO });
    const long = Array.from({ length: 8 }, () => ({ spa: 'thin', config: { a: 'x'.repeat(256), b: 'y'.repeat(256) } }));
    await expect(subscriber!.request('subscription:create', { channel: 'cam', maxLatencyMs: 100, pipeline: long })).rejects.toMatchObject({
      code: 'BAD_PAYLOAD',
      message: expect.stringMatching(/longer than the 4096 bytes of JSON a route setup carries/),
    });
    expect(s.controller.store.subscriptions.size).toBe(0);
  });

  it('bounds the bytes a host holds in the server, and gives them back when it lets go', async () => {
    const s = await server();
    const [publisher, subscriber] = await hosts(s, 2);
    const other = await host(s);
    const names = ['a', 'b', 'c', 'd'];
    for (const name of names) await publisher!.request('channel:publish', { name, kind: 'video', codec: VIDEO });
    for (const name of names) await other.request('channel:publish', { name: `${name}2`, kind: 'video', codec: VIDEO });
    // About 3.9 KB of JSON each: eight fit in 32 KiB, the ninth does not.
    const big = Array.from({ length: 7 }, () => ({ spa: 'thin', config: { a: 'x'.repeat(256), b: 'y'.repeat(256) } }));
    const ids: string[] = [];
    for (const channel of [...names, ...names.map((n) => `${n}2`)]) {
      ids.push((await subscriber!.request('subscription:create', { channel, maxLatencyMs: 100, pipeline: big })).subscription.subscriptionId);
    }
    await expect(subscriber!.request('subscription:create', { channel: 'a', maxLatencyMs: 100, pipeline: big })).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED' });
    // About 3.3 KB of report: past what is left.
    const report = { spas: Array.from({ length: 8 }, (_, i) => ({ channel: 'a', variant: i, pipeline: ['thin'], state: 'dead' as const, stages: [], error: 'e'.repeat(300) })) };
    await expect(subscriber!.request('spa:report', report)).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED' });
    expect(s.controller.store.hosts.get(subscriber!.hostId)!.spas).toEqual([]);
    await subscriber!.request('subscription:delete', { subscriptionId: ids[0]! });
    await subscriber!.request('subscription:create', { channel: 'a', maxLatencyMs: 100, pipeline: [] });
    await subscriber!.request('spa:report', report);
  });

  it('refuses a forced cube larger than the server can hold, at once', async () => {
    const s = await server({ adminToken: 'sesame' });
    await hosts(s, 3);
    const admin = observer(s, { token: 'sesame' });
    expect(await connected(admin)).toBe('connected');
    const control = (payload: object) => admin.timeout(5000).emitWithAck('control:reembed', payload) as Promise<Ack>;
    expect(await control({ k: 2, n: 24 })).toMatchObject({ ok: false, code: 'INVALID_REQUEST', message: expect.stringMatching(/16777216 ids; a forced cube may have 65536 at most/) });
    expect(await control({ k: 4, n: 8 })).toMatchObject({ ok: true, k: 4, n: 8 });
  });

  it('caps observers, and connections from one address', async () => {
    const s = await server({ limits: { maxObservers: 2, maxConnectionsPerAddress: 4 } });
    expect(await connected(observer(s))).toBe('connected');
    expect(await connected(observer(s))).toBe('connected');
    expect(await connected(observer(s))).toMatch(/has 2 observers connected, the most it takes/);
    const first = await host(s);
    await host(s);
    const refused = new VirtualHost(s.url);
    closers.push(() => refused.close());
    expect(await connected(refused.socket as unknown as Socket)).not.toBe('connected');
    expect(((await (await fetch(`${s.url}/metrics`)).json()) as { connectionsRefused: number }).connectionsRefused).toBeGreaterThan(0);
    first.close();
    await eventually(() => s.controller.store.hosts.size === 1);
    await host(s);
  });

  it('drops a host that stops reading its socket instead of buffering toward it', async () => {
    const s = await server({ limits: { maxBufferedBytesPerSocket: 256 * 1024 } });
    const [sender, reader] = await hosts(s, 2);
    // The reader's TCP socket stops reading: what the server sends piles up in the kernel, then in the server.
    const transport = reader!.socket.io.engine.transport as unknown as { ws: { _socket: { pause(): void } } };
    transport.ws._socket.pause();
    const sdp = 'x'.repeat(30_000);
    let sent = 0;
    for (; sent < 500 && s.controller.store.hosts.has(reader!.hostId); sent++) {
      await sender!.request('signal:send', { to: reader!.hostId, epoch: sender!.epoch, data: { type: 'offer', sdp } }).catch(() => undefined);
    }
    await eventually(() => !s.controller.store.hosts.has(reader!.hostId), 10_000, 'the slow host dropped');
    expect((await metrics(s)).slowSocketsDropped).toBe(1);
    // Dropped while the flood went on (15 MB were on their way), not after it.
    expect(sent).toBeLessThan(500);
    await expectServing(s);
  });
});

describe('faults in the server itself', () => {
  const boom = () => {
    throw new Error('injected fault');
  };

  it('answers a handler that throws with INTERNAL and keeps serving', async () => {
    const s = await server();
    const h = await host(s);
    vi.spyOn(s.controller, 'publish').mockImplementation(boom);
    await expect(h.request('channel:publish', { name: 'cam', kind: 'video', codec: VIDEO })).rejects.toMatchObject({ code: 'INTERNAL' });
    vi.spyOn(s.controller, 'countRejected').mockImplementation(boom);
    await expect(h.request('channel:unpublish', { name: 'no such' })).rejects.toMatchObject({ code: 'UNKNOWN_CHANNEL' });
    await expectServing(s);
  });

  it('survives a leave that throws, an observer snapshot that throws, and a delta timer that throws', async () => {
    const s = await server();
    const h = await host(s);
    const leave = vi.spyOn(s.controller, 'leaveMany').mockImplementation(boom);
    h.close();
    await eventually(() => leave.mock.calls.length === 1, 5000, 'the disconnect handled');
    leave.mockRestore();
    // An observer whose snapshot cannot be built is told so by being dropped, not left waiting.
    const snapshot = vi.spyOn(s.controller, 'snapshot').mockImplementation(boom);
    const dropped = observer(s);
    await eventually(() => snapshot.mock.calls.length === 1 && dropped.disconnected, 5000, 'the failed observer dropped');
    snapshot.mockRestore();
    // The delta timer runs into it: a change while an observer watches.
    const watching = observer(s);
    const first = new Promise((resolve) => watching.once('observer:snapshot', resolve));
    expect(await connected(watching)).toBe('connected');
    await first;
    const failingDelta = vi.spyOn(s.controller, 'snapshot').mockImplementation(boom);
    await host(s);
    await eventually(() => failingDelta.mock.calls.length === 1, 5000, 'the delta timer run');
    failingDelta.mockRestore();
    await expectServing(s);
  });

});
