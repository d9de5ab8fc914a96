import { type ObserverEvent, type ObserverSnapshot } from '@cubecast/protocol';
import { io, type Socket } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from './log.js';
import { startServer, type RunningServer, type ServerOptions } from './server.js';
import { eventually, TEST_VIDEO_CODEC as VIDEO, VirtualHost } from './testing/virtual-host.js';

const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function server(options: Partial<ServerOptions> = {}): Promise<RunningServer> {
  const s = await startServer({ port: 0, host: '127.0.0.1', logger: silentLogger, snapshotIntervalMs: 20, ...options });
  closers.push(() => s.close());
  return s;
}

async function host(s: RunningServer, room?: string): Promise<VirtualHost> {
  const h = new VirtualHost(s.url);
  closers.push(() => h.close());
  return h.join(room === undefined ? {} : { room });
}

/** An observer of `room`: its first snapshot, and every event after. */
function observer(s: RunningServer, room?: string) {
  const socket: Socket = io(`${s.url}/observer`, { transports: ['websocket'], reconnection: false, forceNew: true, auth: room === undefined ? {} : { room } });
  closers.push(() => socket.disconnect());
  const seen: { snapshot?: ObserverSnapshot; events: ObserverEvent[]; error?: string } = { events: [] };
  socket.on('observer:snapshot', (snapshot: ObserverSnapshot) => (seen.snapshot = snapshot));
  socket.on('observer:event', (event: ObserverEvent) => seen.events.push(event));
  socket.on('connect_error', (error) => (seen.error = error.message));
  return seen;
}

describe('rooms', () => {
  it('each runs the overlay algorithm the deployment chose for it: hosts are told at join, observers see it', async () => {
    const s = await server({ roomAlgorithms: new Map([['lab', 'gossip']]) });
    const [plain, lab] = [await host(s), await host(s, 'lab')];
    expect([plain.algorithm, lab.algorithm]).toEqual(['cube', 'gossip']);
    const [watchLab, watchPlain] = [observer(s, 'lab'), observer(s)];
    await eventually(() => watchLab.snapshot !== undefined && watchPlain.snapshot !== undefined);
    expect([watchLab.snapshot!.algorithm, watchPlain.snapshot!.algorithm]).toEqual(['gossip', 'cube']);
  });


  it('are separate overlays: ids, cubes and channels never cross, and the default room is the one without a name', async () => {
    const s = await server();
    const a = [await host(s, 'a'), await host(s, 'a'), await host(s, 'a')];
    const b = [await host(s, 'b'), await host(s, 'b')];
    const plain = await host(s);
    // Each room numbers its own hosts and lays out its own cube.
    expect(a.map((h) => h.hostId)).toEqual(['h1', 'h2', 'h3']);
    expect(b.map((h) => h.hostId)).toEqual(['h1', 'h2']);
    expect(plain.hostId).toBe('h1');
    expect(s.room('a')!.store.hosts.size).toBe(3);
    expect(s.room('b')!.store.hosts.size).toBe(2);
    expect(s.controller).toBe(s.room('default'));
    for (const h of a) expect([...h.neighbours.values()].every((owner) => ['h1', 'h2', 'h3'].includes(owner) && owner !== h.hostId)).toBe(true);
    expect(b[0]!.ids.size + b[1]!.ids.size).toBe(s.room('b')!.store.cube!.cube.size);
    // The same channel name in two rooms: two channels, each seen only in its room.
    await a[0]!.request('channel:publish', { name: 'cam', kind: 'video', codec: VIDEO });
    await b[0]!.request('channel:publish', { name: 'cam', kind: 'video', codec: VIDEO });
    await eventually(() => a[1]!.channels.get('cam')?.publisher === 'h1' && b[1]!.channels.has('cam'));
    for (const h of [...a, ...b, plain]) await h.roundTrip();
    expect((await plain.request('channel:list', {})).channels).toEqual([]);
    expect(plain.channels.size).toBe(0);
    const { subscription } = await b[1]!.request('subscription:create', { channel: 'cam', maxLatencyMs: 100, pipeline: [] });
    await eventually(() => b[0]!.routeRequests.length === 1);
    expect(b[0]!.routeRequests[0]!.subscriptionId).toBe(subscription.subscriptionId);
    await a[0]!.roundTrip();
    expect(a[0]!.routeRequests).toEqual([]);
  });

  it('relays a signal only within the room: h2 of another room never hears it', async () => {
    const s = await server();
    const [a1, a2] = [await host(s, 'a'), await host(s, 'a')];
    const [, b2] = [await host(s, 'b'), await host(s, 'b')];
    const heard: string[] = [];
    a2.socket.on('signal:receive', ({ from }) => heard.push(`a2 from ${from}`));
    b2.socket.on('signal:receive', ({ from }) => heard.push(`b2 from ${from}`));
    await a1.request('signal:send', { to: 'h2', epoch: a1.epoch, data: { type: 'offer', sdp: 'v=0' } });
    await eventually(() => heard.length > 0);
    await b2.roundTrip();
    expect(heard).toEqual(['a2 from h1']);
  });

  it('gives each room its observers: a snapshot and events of that room only', async () => {
    const s = await server();
    await host(s, 'a');
    await host(s, 'a');
    const watchA = observer(s, 'a');
    const watchDefault = observer(s);
    await eventually(() => watchA.snapshot !== undefined && watchDefault.snapshot !== undefined);
    expect(watchA.snapshot!.hosts.map((h) => h.hostId).sort()).toEqual(['h1', 'h2']);
    expect(watchDefault.snapshot!.hosts).toEqual([]);
    await host(s, 'b');
    await host(s);
    await eventually(() => watchDefault.events.some((e) => e.type === 'join'));
    expect(watchA.events.filter((e) => e.type === 'join').map((e) => e.hostId)).toEqual(['h1', 'h2']);
    expect(watchDefault.events.filter((e) => e.type === 'join').map((e) => e.hostId)).toEqual(['h1']);
  });

  it('refuses a bad room name, and a room past the server\'s limit; drops a room nobody is in', async () => {
    const s = await server({ limits: { maxRooms: 2 } });
    const stranger = new VirtualHost(s.url);
    closers.push(() => stranger.close());
    await expect(stranger.join({ room: '../etc' })).rejects.toMatchObject({ code: 'BAD_PAYLOAD' });
    const only = await host(s, 'a');
    const late = new VirtualHost(s.url);
    closers.push(() => late.close());
    await expect(late.join({ room: 'c' })).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED' });
    const badObserver = observer(s, 'no/slash');
    await eventually(() => badObserver.error !== undefined);
    expect(badObserver.error).toMatch(/room name/);
    await only.request('host:leave', {});
    // Once its host has left (not lost: a lost one could still resume), the room goes (the
    // default one stays), and a new one fits.
    await eventually(() => s.room('a') === undefined, 5000, 'the empty room to go');
    expect(s.room('default')).toBeDefined();
    expect((await host(s, 'c')).hostId).toBe('h1');
  });
});
