import type { JoinResult } from '@cubecast/protocol';
import { PROTOCOL_VERSION } from '@cubecast/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from './log.js';
import { startServer, type RunningServer, type ServerOptions } from './server.js';
import { eventually, TEST_VIDEO_CODEC as VIDEO, VirtualHost } from './testing/virtual-host.js';

const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function server(options: Partial<ServerOptions> = {}): Promise<RunningServer> {
  const s = await startServer({ port: 0, host: '127.0.0.1', logger: silentLogger, ...options });
  closers.push(() => s.close());
  return s;
}

async function host(s: RunningServer): Promise<VirtualHost> {
  const h = new VirtualHost(s.url);
  closers.push(() => h.close());
  return h.join();
}

/** A new connection joining with `resume`: the raw join result. */
async function rejoin(s: RunningServer, token: string): Promise<JoinResult & { ok: true }> {
  const h = new VirtualHost(s.url);
  closers.push(() => h.close());
  return (await h.request('host:join', { protocol: PROTOCOL_VERSION, resume: token })) as JoinResult & { ok: true };
}

/** Closes a host's transport under it, as a network drop does (not a leave). */
function drop(s: RunningServer, h: VirtualHost): void {
  (s.io.of('/').sockets.get(h.socket.id!)!.conn as unknown as { close(): void }).close();
}

/** A publisher of `cam` subscribed to `mic`, a viewer of `cam`, and `mic`'s publisher. */
async function overlay(s: RunningServer) {
  const publisher = await host(s);
  const viewer = await host(s);
  const other = await host(s);
  const { channel } = await publisher.request('channel:publish', { name: 'cam', kind: 'video', codec: VIDEO });
  await other.request('channel:publish', { name: 'mic', kind: 'video', codec: VIDEO });
  const { subscription: own } = await publisher.request('subscription:create', { channel: 'mic', maxLatencyMs: 120, pipeline: [{ spa: 'thin', config: { maxLayer: 0 } }] });
  await viewer.request('subscription:create', { channel: 'cam', maxLatencyMs: 150, pipeline: [] });
  return { publisher, viewer, other, channel, own };
}

describe('sessions that resume', () => {
  it('a host whose connection dropped gets back its host id, its channel under its id and its subscription under its id', async () => {
    const s = await server();
    const { publisher, viewer, other, channel, own } = await overlay(s);
    const removed = new Promise((resolve) => viewer.socket.once('channel:removed', resolve));
    drop(s, publisher);
    expect(await removed).toEqual({ name: 'cam', reason: 'publisher-lost' });
    await eventually(() => !s.controller.hasHost(publisher.hostId));
    const added = new Promise((resolve) => viewer.socket.once('channel:added', resolve));
    const result = await rejoin(s, publisher.sessionToken);
    expect(result.state.hostId).toBe(publisher.hostId);
    expect(result.sessionToken).not.toBe(publisher.sessionToken);
    expect(result.channels.find((c) => c.name === 'cam')).toMatchObject({ id: channel.id, publisher: publisher.hostId });
    expect(result.resumed!.subscriptions).toMatchObject([{ subscriptionId: own.subscriptionId, channel: 'mic', maxLatencyMs: 120, pipeline: own.pipeline, state: 'active' }]);
    expect(await added).toMatchObject({ id: channel.id, name: 'cam', publisher: publisher.hostId });
    // mic's publisher is asked for the route again, under the same subscription id.
    await eventually(() => other.routeRequests.filter((r) => r.subscriptionId === own.subscriptionId).length === 2);
    expect(s.controller.store.events.at(-1)!.message).toMatch(new RegExp(`^${publisher.hostId} resumed its session`));
  });

  it('resumes once, within the grace period, and only a lost connection: a leave, a late token or a used one join afresh', async () => {
    const s = await server({ controller: { resumeGraceMs: 300 } });
    const a = await host(s);
    const b = await host(s);
    const c = await host(s);
    await a.request('channel:publish', { name: 'cam', kind: 'video', codec: VIDEO });
    drop(s, a);
    await eventually(() => !s.controller.hasHost(a.hostId));
    const first = await rejoin(s, a.sessionToken);
    expect(first.state.hostId).toBe(a.hostId);
    expect((await rejoin(s, a.sessionToken)).resumed).toBeUndefined(); // used
    await b.request('host:leave', {});
    expect((await rejoin(s, b.sessionToken)).state.hostId).not.toBe(b.hostId); // left for good
    drop(s, c);
    await eventually(() => !s.controller.hasHost(c.hostId));
    await new Promise((resolve) => setTimeout(resolve, 400));
    const late = await rejoin(s, c.sessionToken);
    expect(late.state.hostId).not.toBe(c.hostId);
    expect(late.resumed).toBeUndefined();
  });

  it('does not take back a channel name another host took meanwhile', async () => {
    const s = await server();
    const { publisher, other } = await overlay(s);
    drop(s, publisher);
    await eventually(() => !s.controller.hasHost(publisher.hostId));
    await other.request('channel:publish', { name: 'cam', kind: 'video', codec: VIDEO });
    const result = await rejoin(s, publisher.sessionToken);
    expect(result.state.hostId).toBe(publisher.hostId);
    expect(result.channels.find((c) => c.name === 'cam')!.publisher).toBe(other.hostId);
    expect(result.resumed!.subscriptions.map((sub) => sub.channel)).toEqual(['mic']);
  });

  it('takes a host that comes back before its old connection is noticed gone as it stands: same ids, routes asked again, the old socket closed without a leave', async () => {
    const s = await server();
    const { publisher, other, own } = await overlay(s);
    const ids = [...s.controller.store.cube!.ownership.idsOf(publisher.hostId)].sort();
    const oldSocketClosed = new Promise((resolve) => publisher.socket.once('disconnect', resolve));
    const result = await rejoin(s, publisher.sessionToken);
    expect(result.state.hostId).toBe(publisher.hostId);
    expect([...result.state.ids].sort()).toEqual(ids);
    expect(result.resumed!.subscriptions.map((sub) => sub.subscriptionId)).toEqual([own.subscriptionId]);
    await oldSocketClosed;
    // The old socket's close named a connection that is no longer the host's: nothing left.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(s.controller.hasHost(publisher.hostId)).toBe(true);
    expect(s.controller.channels().map((c) => c.name).sort()).toEqual(['cam', 'mic']);
    // Its own subscription's route is asked for again.
    await eventually(() => other.routeRequests.filter((r) => r.subscriptionId === own.subscriptionId).length === 2);
  });
});
