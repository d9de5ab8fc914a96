import { ClosedError, PROTOCOL_VERSION, type CubeDelta, type CubeState, type LinkReport } from '@cubecast/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { EngineWorker } from './engine-proxy.js';
import type { DeliveredChunk, LinkState } from './engine/types.js';
import type { EngineCommand, EngineReport } from './engine/worker-protocol.js';
import { CubecastPeer } from './peer-client.js';
import { FakeConnection } from './testing/fake-connection.js';
import { startScriptedServer } from './testing/scripted-server.js';

/**
 * The real peer client, driven by a socket.io server this test scripts: what it does with
 * `cube:state`, `cube:delta` and signals, seen through the WebRTC connections it makes (fakes,
 * since Node has no WebRTC) and the commands it gives its engine worker (a fake).
 */

/** Resolves once `check` holds (vitest polls it), else fails the test after 5 s. */
const until = (check: () => boolean) => vi.waitUntil(check, { timeout: 15_000, interval: 5 });

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

let nextChannelId = 50;

/** Acks as the signaling server would: joins with `state()`, publications and subscriptions with fresh ids. */
function answer(state: () => CubeState, refuse: (event: string, payload: unknown) => object | undefined) {
  return (event: string, payload: unknown) => {
    const refusal = refuse(event, payload);
    if (refusal) return refusal;
    const p = payload as { name: string; kind: string; codec: unknown; channel: string; maxLatencyMs: number; pipeline: unknown[] };
    const hostId = state().hostId;
    if (event === 'host:join') return { ok: true, state: state(), channels: [], sessionToken: 'token' };
    if (event === 'channel:publish') return { ok: true, channel: { id: nextChannelId++, name: p.name, kind: p.kind, publisher: hostId, anchor: 0, codec: p.codec } };
    if (event === 'subscription:create') return { ok: true, subscription: { subscriptionId: `sub-${hostId}-${p.channel}`, channel: p.channel, subscriber: hostId, maxLatencyMs: p.maxLatencyMs, pipeline: p.pipeline, state: 'active' } };
    return { ok: true };
  };
}

/** `refuse`: an error ack the server gives instead of its usual answer, when it returns one. */
async function scenario(initial: CubeState, options: { refuse?: (event: string, payload: unknown) => object | undefined; restoreWaitMs?: number } = {}) {
  let state = initial;
  const refuse = options.refuse ?? (() => undefined);
  let server = await startScriptedServer(answer(() => state, refuse));
  closers.push(() => server.close());
  const received = () => server.received;
  const socket = () => server.socket();
  /** Stops the server and starts a new one on the same port that knows this host as `next`. */
  const restart = async (next: CubeState) => {
    await server.close();
    state = next;
    server = await startScriptedServer(answer(() => state, refuse), server.port);
    closers.push(() => server.close());
  };

  const commands: EngineCommand[] = [];
  const worker: EngineWorker = { postMessage: (command) => commands.push(command), onmessage: null, onerror: null };
  /** A report from the engine worker, as the worker would post it. */
  const report = (message: EngineReport) => worker.onmessage!({ data: message } as MessageEvent<EngineReport>);
  const connections: FakeConnection[] = [];
  const peer = new CubecastPeer({
    url: server.url,
    createWorker: () => worker,
    ...(options.restoreWaitMs !== undefined && { restoreWaitMs: options.restoreWaitMs }),
    createConnection: (initiator) => {
      const connection = new FakeConnection(initiator);
      connections.push(connection);
      return connection.made();
    },
  });
  closers.push(() => peer.close());
  await until(() => peer.snapshot().connection === 'connected' && socket() !== undefined);
  // The client makes a connection, then tells the worker link:add: the n-th of each go together.
  const connectionTo = (hostId: string) => {
    const adds = commands.filter((c): c is Extract<EngineCommand, { type: 'link:add' }> => c.type === 'link:add');
    const matches = connections.filter((_, i) => adds[i]?.hostId === hostId);
    return matches.at(-1);
  };
  const linkCommands = () => commands.filter((c) => c.type === 'link:add' || c.type === 'link:remove').map((c) => `${c.type} ${(c as { hostId: string }).hostId}`);
  const lastView = () => commands.filter((c): c is Extract<EngineCommand, { type: 'view' }> => c.type === 'view').at(-1)!.view;
  /** Sends an event, then a marker channel, and waits until the client lists the marker: the socket delivers in order. */
  let markers = 0;
  const send = async (event: string, payload: unknown) => {
    socket()!.emit(event, payload);
    const marker = `marker-${markers++}`;
    socket()!.emit('channel:added', { id: 1000 + markers, name: marker, kind: 'video', publisher: 'hx', anchor: 0, codec: { codec: 'vp8' } });
    await until(() => peer.snapshot().channels.some((c) => c.name === marker));
  };
  return { peer, commands, report, connections, connectionTo, linkCommands, lastView, send, received, restart, socket };
}

const base: CubeState = { hostId: 'h1', epoch: 1, revision: 1, k: 2, n: 2, ids: [1], neighbours: [[0, 'h0'], [3, 'h2']], policy: 'greedy' };
const delta = (fields: Partial<CubeDelta>): CubeDelta => ({ epoch: 1, revision: 2, addedIds: [], removedIds: [], neighbours: [], ...fields });

describe('CubecastPeer and the cube view', () => {
  it('joins with the protocol version and offers links only to neighbours whose ids sort after its own', async () => {
    const s = await scenario(base);
    expect(s.received()[0]).toEqual(['host:join', { protocol: PROTOCOL_VERSION }]);
    expect(s.linkCommands()).toEqual(['link:add h2']);
    expect(s.connectionTo('h2')!.initiator).toBe(true);
    expect(s.lastView()).toMatchObject({ hostId: 'h1', epoch: 1, ids: [1], neighbours: [[0, 'h0'], [3, 'h2']] });
    expect(s.peer.snapshot().links.map((l) => l.hostId)).toEqual(['h0', 'h2']);
    // The offer it makes goes to the server for h2, stamped with the epoch.
    s.connectionTo('h2')!.emit('signal', { type: 'offer', sdp: 'v=0' });
    await until(() => s.received().some(([event]) => event === 'signal:send'));
    expect(s.received().find(([event]) => event === 'signal:send')![1]).toEqual({ to: 'h2', epoch: 1, data: { type: 'offer', sdp: 'v=0' } });
  });

  it('opens and closes links as deltas change its neighbours, and answers offers from the others', async () => {
    const s = await scenario(base);
    await s.send('cube:delta', delta({ addedIds: [2], neighbours: [[3, null], [4, 'h3']] }));
    expect(s.connectionTo('h2')!.destroyed).toBe(1);
    expect(s.linkCommands()).toEqual(['link:add h2', 'link:remove h2', 'link:add h3']);
    expect(s.lastView()).toMatchObject({ ids: [1, 2], neighbours: [[0, 'h0'], [4, 'h3']] });
    expect(s.peer.snapshot().ids).toHaveLength(2);
    // h0 sorts first: it makes the offer, and the client answers on a connection of its own.
    await s.send('signal:receive', { from: 'h0', epoch: 1, data: { type: 'offer', sdp: 'v=0' } });
    expect(s.connectionTo('h0')).toMatchObject({ initiator: false, signals: [{ type: 'offer', sdp: 'v=0' }] });
  });

  it('ignores deltas of another epoch or not newer than its revision, and signals of another epoch', async () => {
    const s = await scenario(base);
    await s.send('cube:delta', delta({ revision: 2, neighbours: [[4, 'h3']] }));
    expect(s.linkCommands()).toEqual(['link:add h2', 'link:add h3']);
    const views = s.commands.filter((c) => c.type === 'view').length;
    await s.send('cube:delta', delta({ revision: 2, neighbours: [[5, 'h5']] })); // a repeat of revision 2
    await s.send('cube:delta', delta({ revision: 1, neighbours: [[6, 'h6']] })); // older
    await s.send('cube:delta', delta({ epoch: 0, revision: 9, neighbours: [[7, 'h7']] })); // an epoch that is over
    await s.send('cube:delta', delta({ epoch: 2, revision: 9, neighbours: [[8, 'h8']] })); // one not yet begun
    expect(s.linkCommands()).toEqual(['link:add h2', 'link:add h3']);
    expect(s.commands.filter((c) => c.type === 'view').length).toBe(views);
    await s.send('signal:receive', { from: 'h0', epoch: 0, data: { type: 'offer', sdp: 'v=0' } });
    expect(s.connectionTo('h0')).toBeUndefined();
  });

  it('on a new epoch, starts over the links still negotiating and keeps the connected ones', async () => {
    const s = await scenario({ ...base, neighbours: [[0, 'h0'], [3, 'h2'], [5, 'h3']] });
    const connected = s.connectionTo('h2')!;
    const negotiating = s.connectionTo('h3')!;
    connected.connected = true;
    await s.send('cube:state', { ...base, epoch: 2, revision: 1, neighbours: [[0, 'h0'], [3, 'h2'], [5, 'h3']] });
    expect(connected.destroyed).toBe(0);
    expect(negotiating.destroyed).toBe(1);
    // h3 is still a neighbour: a fresh link, whose signals will carry the new epoch.
    expect(s.linkCommands()).toEqual(['link:add h2', 'link:add h3', 'link:remove h3', 'link:add h3']);
    expect(s.connectionTo('h3')).not.toBe(negotiating);
    expect(s.lastView()).toMatchObject({ epoch: 2 });
    // A delta of the old epoch now changes nothing.
    await s.send('cube:delta', delta({ epoch: 1, revision: 5, neighbours: [[3, null]] }));
    expect(connected.destroyed).toBe(0);
  });

  it('restarts ICE on a link the engine found silent, makes anew one it gave up on, and tells the server', async () => {
    const s = await scenario(base);
    const link = s.connectionTo('h2')!;
    link.connected = true;
    const stats = (state: LinkState) => s.report({ type: 'stats', links: [{ hostId: 'h2', state, throughputKbps: 0, receivedKbps: 0, queued: 0, dropped: 0, late: 0, repairsResent: 0, lossRate: 0, inboundLossRate: 0, sentBytes: 0, bufferedBytes: 0 }], malformed: 0, duplicates: 0, forwarding: [], spas: [] });
    const reported = () => s.received().filter(([event]) => event === 'link:report').map(([, report]) => (report as LinkReport).links[0]!.state);
    stats('stalled');
    s.report({ type: 'link:stalled', hostId: 'h2', reason: 'silent for 3600 ms' });
    expect([link.iceRestartsAsked, link.destroyed]).toEqual([1, 0]);
    await until(() => reported().includes('stalled'));
    stats('failed');
    s.report({ type: 'link:failed', hostId: 'h2', reason: 'silent for 15100 ms' });
    expect(link.destroyed).toBe(1);
    await until(() => reported().includes('failed'));
  });

  it('widens a lossy link: the stripes go to the engine, their signals through the server with their number, and the snapshot counts them', async () => {
    const s = await scenario(base);
    s.connectionTo('h2')!.connected = true;
    const lossy = { hostId: 'h2', state: 'open' as const, throughputKbps: 800, receivedKbps: 0, queued: 0, dropped: 0, late: 0, repairsResent: 0, lossRate: 0.1, inboundLossRate: 0, sentBytes: 0, bufferedBytes: 0 };
    s.report({ type: 'stats', links: [lossy], malformed: 0, duplicates: 0, forwarding: [], spas: [] });
    const stripeCommands = s.commands.filter((c) => c.type === 'link:stripe');
    expect(stripeCommands.map((c) => (c as { hostId: string }).hostId)).toEqual(['h2', 'h2', 'h2']);
    const stripes = s.connections.slice(-3);
    stripes[1]!.emit('signal', { type: 'offer', sdp: 'v=0' });
    await until(() => s.received().some(([event]) => event === 'signal:send'));
    expect(s.received().find(([event]) => event === 'signal:send')![1]).toEqual({ to: 'h2', epoch: 1, data: { type: 'offer', sdp: 'v=0' }, stripe: 2 });
    // The answer for that stripe goes to its connection, not the link's own.
    await s.send('signal:receive', { from: 'h2', epoch: 1, data: { type: 'answer', sdp: 'a' }, stripe: 2 });
    expect(stripes[1]!.signals).toEqual([{ type: 'answer', sdp: 'a' }]);
    expect(s.connectionTo('h2')!.signals).toEqual([]);
    stripes[0]!.connected = true;
    s.report({ type: 'stats', links: [lossy], malformed: 0, duplicates: 0, forwarding: [], spas: [] });
    expect(s.peer.snapshot().links.find((l) => l.hostId === 'h2')!.stripes).toBe(2);
  });

  it("reports the channels it forwards over each link, by name: the edges of their trees the observer draws", async () => {
    const s = await scenario(base);
    s.connectionTo('h2')!.connected = true;
    await s.send('channel:added', { id: 7, name: 'cam', kind: 'video', publisher: 'h0', anchor: 0, codec: { codec: 'vp8' } });
    const link = { state: 'open' as const, throughputKbps: 0, receivedKbps: 0, queued: 0, dropped: 0, late: 0, repairsResent: 0, lossRate: 0, inboundLossRate: 0, sentBytes: 0, bufferedBytes: 0 };
    s.report({ type: 'stats', links: [{ hostId: 'h2', ...link }, { hostId: 'h3', ...link }], malformed: 0, duplicates: 0, forwarding: [{ channel: 7, to: ['h3'] }, { channel: 99, to: ['h3'] }], spas: [] });
    s.report({ type: 'link:recovered', hostId: 'h2' });
    const reports = () => s.received().filter(([event]) => event === 'link:report').map(([, report]) => (report as LinkReport).links);
    await until(() => reports().length > 0);
    // Channel 99 is unknown here (not in this tab's directory): nothing to name.
    expect(reports().at(-1)!.map((l) => [l.hostId, l.channels])).toEqual([
      ['h2', undefined],
      ['h3', ['cam']],
    ]);
  });

  it('closes once: destroys its connections, stops its engine, says peer:closed last, and refuses calls after', async () => {
    const s = await scenario(base);
    const events: string[] = [];
    s.peer.on('peer:closed', () => events.push('closed'));
    s.peer.close();
    s.peer.close();
    expect(events).toEqual(['closed']);
    expect(s.connectionTo('h2')!.destroyed).toBe(1);
    expect(s.commands.at(-1)).toEqual({ type: 'close' });
    await expect(s.peer.subscribe('cam', 500)).rejects.toBeInstanceOf(ClosedError);
  });
});

const sensor = { kind: 'sensor' as const, codec: { codec: 'f32' as const, rateHz: 20, fields: ['value'], unit: 'units' } };
const chunkOf = (channel: number, variant: number, latencyUs = 4000): DeliveredChunk => ({ channel, variant, sequence: 1, flags: 0, hops: 2, latencyUs, payload: new Uint8Array(1) }) as DeliveredChunk;

describe('CubecastPeer, its publications and subscriptions', () => {
  it('hands each chunk to the subscription of its channel and variant only, and key frame requests to the publication', async () => {
    const s = await scenario(base);
    await s.send('channel:added', { id: 7, name: 'cam', kind: 'video', publisher: 'h0', anchor: 0, codec: { codec: 'vp8' } });
    const subscription = await s.peer.subscribe('cam', 80, [{ spa: 'grayscale' }]);
    const publication = await s.peer.publish({ name: 'mine', ...sensor });
    expect(s.peer.subscription('cam')).toBe(subscription);
    expect(s.peer.publication('mine')).toBe(publication);
    await expect(s.peer.subscribe('cam', 50)).rejects.toThrow('this tab already subscribes to cam');
    expect(s.received().filter(([event]) => event === 'subscription:create')).toHaveLength(1);
    expect(s.commands).toContainEqual({ type: 'subscribe', channel: 7 });
    expect(s.commands).toContainEqual({ type: 'publish', channel: publication.channel!.id, anchor: 0 });
    const got: number[] = [];
    subscription.on('chunk:received', (chunk) => got.push(chunk.latencyUs));
    let keyframes = 0;
    publication.on('keyframe:requested', () => keyframes++);
    s.report({ type: 'chunk', chunk: chunkOf(7, subscription.variant, 1000) });
    s.report({ type: 'chunk', chunk: chunkOf(7, 0, 2000) }); // the published variant: not what it asked for
    s.report({ type: 'chunk', chunk: chunkOf(99, subscription.variant, 3000) }); // a channel not in the directory
    s.report({ type: 'keyframe:request', channel: publication.channel!.id });
    s.report({ type: 'keyframe:request', channel: 7 }); // not this tab's channel
    expect(got).toEqual([1000]);
    expect(keyframes).toBe(1);
    // Sending goes to the engine under the channel's id, the payload handed over.
    publication.sendChunk(1, new ArrayBuffer(3));
    expect(s.commands.at(-1)).toMatchObject({ type: 'chunk', channel: publication.channel!.id, flags: 1 });
  });

  it('reports each subscription\'s latency to the server from what arrives, with nothing mounted to show it', async () => {
    const s = await scenario(base);
    await s.send('channel:added', { id: 7, name: 'cam', kind: 'video', publisher: 'h0', anchor: 0, codec: { codec: 'vp8' } });
    const subscription = await s.peer.subscribe('cam', 80);
    s.report({ type: 'chunk', chunk: chunkOf(7, subscription.variant, 12_500) });
    await until(() => s.received().some(([event]) => event === 'subscription:report'));
    expect(s.received().find(([event]) => event === 'subscription:report')![1]).toEqual({ subscriptionId: 'sub-h1-cam', latencyMs: 12.5, hops: 2, framesDecoded: 0 });
    expect(s.peer.snapshot().subscriptions).toMatchObject([{ channel: 'cam', latencyMs: 12.5, hops: 2, boundMet: true }]);
  });

  it('ends a subscription whose channel goes away: ended then closed, dropped from the engine and the snapshot', async () => {
    const s = await scenario(base);
    await s.send('channel:added', { id: 7, name: 'cam', kind: 'video', publisher: 'h0', anchor: 0, codec: { codec: 'vp8' } });
    const subscription = await s.peer.subscribe('cam', 80);
    const events: string[] = [];
    subscription.on('subscription:ended', ({ reason }) => events.push(reason));
    subscription.on('subscription:closed', () => events.push('closed'));
    s.peer.on('subscription:ended', ({ channel, reason }) => events.push(`peer: ${channel}, ${reason}`));
    await s.send('channel:removed', { name: 'cam' });
    expect(events).toEqual(['cam is no longer published', 'closed', 'peer: cam, cam is no longer published']);
    expect(s.commands).toContainEqual({ type: 'unsubscribe', channel: 7 });
    expect(s.peer.subscription('cam')).toBeUndefined();
    expect(s.peer.snapshot().subscriptions).toEqual([]);
  });

  it('closing a subscription or publication tells the server and the engine', async () => {
    const s = await scenario(base);
    await s.send('channel:added', { id: 7, name: 'cam', kind: 'video', publisher: 'h0', anchor: 0, codec: { codec: 'vp8' } });
    const subscription = await s.peer.subscribe('cam', 80);
    const publication = await s.peer.publish({ name: 'mine', ...sensor });
    await subscription.close();
    await publication.close();
    expect(s.received().filter(([event]) => event.endsWith(':delete') || event.endsWith(':unpublish'))).toEqual([
      ['subscription:delete', { subscriptionId: 'sub-h1-cam' }],
      ['channel:unpublish', { name: 'mine' }],
    ]);
    expect(s.commands).toContainEqual({ type: 'unsubscribe', channel: 7 });
    expect(s.commands).toContainEqual({ type: 'unpublish', channel: publication.channel!.id });
    expect(s.peer.snapshot()).toMatchObject({ publishing: [], subscriptions: [] });
  });

  it('after a server restart, publishes and subscribes again with the same objects, so players and sources go on', async () => {
    const s = await scenario(base);
    await s.send('channel:added', { id: 7, name: 'cam', kind: 'video', publisher: 'h0', anchor: 0, codec: { codec: 'vp8' } });
    const subscription = await s.peer.subscribe('cam', 80, [{ spa: 'grayscale' }]);
    const publication = await s.peer.publish({ name: 'mine', ...sensor });
    const before = publication.channel!.id;
    const closed: string[] = [];
    subscription.on('subscription:closed', () => closed.push('subscription'));
    publication.on('publication:closed', () => closed.push('publication'));
    await s.restart({ ...base, hostId: 'h5', epoch: 3 });
    await until(() => s.peer.snapshot().connection === 'disconnected' || s.peer.snapshot().hostId === 'h5');
    // The new server lists the camera again; the peer re-creates what it had.
    await vi.waitUntil(() => s.peer.snapshot().hostId === 'h5', { timeout: 15_000, interval: 20 });
    await s.send('channel:added', { id: 8, name: 'cam', kind: 'video', publisher: 'h0', anchor: 0, codec: { codec: 'vp8' } });
    await until(() => subscription.info?.subscriber === 'h5' && publication.channel?.id !== before);
    expect(s.received().filter(([event]) => event === 'channel:publish' || event === 'subscription:create')).toEqual([
      ['channel:publish', { name: 'mine', ...sensor }],
      ['subscription:create', { channel: 'cam', maxLatencyMs: 80, pipeline: [{ spa: 'grayscale' }] }],
    ]);
    expect(closed).toEqual([]);
    expect(s.peer.subscription('cam')).toBe(subscription);
    expect(s.peer.publication('mine')).toBe(publication);
    // The engine forgot the old publication and carries the new one; the subscription follows the new id.
    expect(s.commands).toContainEqual({ type: 'unpublish', channel: before });
    expect(s.commands).toContainEqual({ type: 'publish', channel: publication.channel!.id, anchor: 0 });
    expect(s.commands).toContainEqual({ type: 'subscribe', channel: 8 });
    s.report({ type: 'chunk', chunk: chunkOf(8, subscription.variant) });
    expect(subscription.stats.chunksReceived).toBe(1);
  }, 25_000);

  it('after a restart, a subscription whose channel is not published yet waits for it, then is set up again and says it resumed', async () => {
    let published = true;
    const s = await scenario(base, { refuse: (event) => (event === 'subscription:create' && !published ? { ok: false, code: 'UNKNOWN_CHANNEL', message: 'no channel cam' } : undefined) });
    await s.send('channel:added', { id: 7, name: 'cam', kind: 'video', publisher: 'h0', anchor: 0, codec: { codec: 'vp8' } });
    const subscription = await s.peer.subscribe('cam', 80);
    const events: string[] = [];
    subscription.on('subscription:resumed', (info) => events.push(`resumed ${info.subscriber}`));
    subscription.on('subscription:ended', ({ reason }) => events.push(`ended: ${reason}`));
    published = false;
    await s.restart({ ...base, hostId: 'h5', epoch: 3 });
    await vi.waitUntil(() => s.received().filter(([event]) => event === 'subscription:create').length === 1, { timeout: 15_000, interval: 20 });
    expect(s.peer.subscription('cam')).toBe(subscription);
    expect(subscription.info).toBeNull();
    // The publisher comes back: the subscription is asked for again, and resumes.
    published = true;
    await s.send('channel:added', { id: 8, name: 'cam', kind: 'video', publisher: 'h0', anchor: 0, codec: { codec: 'vp8' } });
    await until(() => subscription.info?.subscriber === 'h5');
    expect(events).toEqual(['resumed h5']);
    expect(s.commands).toContainEqual({ type: 'subscribe', channel: 8 });
  }, 25_000);

  it('ends a restored subscription whose channel does not come back in time, saying so', async () => {
    let published = true;
    const s = await scenario(base, {
      refuse: (event) => (event === 'subscription:create' && !published ? { ok: false, code: 'UNKNOWN_CHANNEL', message: 'no channel cam' } : undefined),
      restoreWaitMs: 1000,
    });
    await s.send('channel:added', { id: 7, name: 'cam', kind: 'video', publisher: 'h0', anchor: 0, codec: { codec: 'vp8' } });
    const subscription = await s.peer.subscribe('cam', 80);
    const ended = new Promise<string>((resolve) => subscription.once('subscription:ended', ({ reason }) => resolve(reason)));
    published = false;
    await s.restart({ ...base, hostId: 'h5', epoch: 3 });
    expect(await ended).toBe('cam was not published again within 1 s');
    expect(s.peer.subscription('cam')).toBeUndefined();
  }, 25_000);

  it('waits for a channel whose publisher lost its connection, and takes it up again when it is back; ends one whose publisher left', async () => {
    const s = await scenario(base);
    await s.send('channel:added', { id: 7, name: 'cam', kind: 'video', publisher: 'h0', anchor: 0, codec: { codec: 'vp8' } });
    await s.send('channel:added', { id: 9, name: 'mic', kind: 'video', publisher: 'h2', anchor: 3, codec: { codec: 'vp8' } });
    const cam = await s.peer.subscribe('cam', 80);
    await s.peer.subscribe('mic', 80);
    const events: string[] = [];
    s.peer.on('subscription:waiting', ({ channel, waitMs }) => events.push(`waiting ${channel} ${waitMs}`));
    s.peer.on('subscription:ended', ({ channel, reason }) => events.push(`ended ${channel}: ${reason}`));
    cam.on('subscription:resumed', (info) => events.push(`resumed ${info.channel}`));
    await s.send('subscription:updated', { ...cam.info!, state: 'ended', endReason: 'publisher-lost' });
    await s.send('channel:removed', { name: 'cam', reason: 'publisher-lost' });
    await s.send('channel:removed', { name: 'mic', reason: 'publisher-left' });
    expect(events).toEqual(['waiting cam 30000', 'ended mic: mic is no longer published']);
    expect(s.peer.subscription('cam')).toBe(cam);
    expect(cam.info).toBeNull();
    expect(s.commands).toContainEqual({ type: 'unsubscribe', channel: 7 });
    // The publisher is back (a new host, a new channel id): the subscription is created again.
    await s.send('channel:added', { id: 12, name: 'cam', kind: 'video', publisher: 'h7', anchor: 2, codec: { codec: 'vp8' } });
    await until(() => cam.info !== null);
    expect(events.at(-1)).toBe('resumed cam');
    expect(s.received().filter(([event]) => event === 'subscription:create').length).toBe(3);
    expect(s.commands).toContainEqual({ type: 'subscribe', channel: 12 });
  });

  it('resumes a session the server kept: sends its token, adopts its channel and subscription under their ids, creates nothing again', async () => {
    let resumable: object | undefined;
    const s = await scenario(base, { refuse: (event, payload) => (event === 'host:join' && (payload as { resume?: string }).resume === 'token' ? resumable : undefined) });
    await s.send('channel:added', { id: 7, name: 'cam', kind: 'video', publisher: 'h0', anchor: 0, codec: { codec: 'vp8' } });
    const subscription = await s.peer.subscribe('cam', 80);
    const publication = await s.peer.publish({ name: 'mine', ...sensor });
    const kept = { ...publication.channel! };
    const resumedInfo = { ...subscription.info! };
    // The server answers the next join as one that kept this host's session.
    resumable = { ok: true, state: base, channels: [{ id: 7, name: 'cam', kind: 'video', publisher: 'h0', anchor: 0, codec: { codec: 'vp8' } }, kept], sessionToken: 'token-2', resumed: { subscriptions: [resumedInfo] } };
    const events: string[] = [];
    subscription.on('subscription:resumed', (info) => events.push(`resumed ${info.subscriptionId}`));
    const creates = () => s.received().filter(([event]) => event === 'channel:publish' || event === 'subscription:create').length;
    const before = creates();
    (s.socket()!.conn as unknown as { close(): void }).close();
    await vi.waitUntil(() => s.received().filter(([event]) => event === 'host:join').length === 2, { timeout: 15_000, interval: 20 });
    await until(() => publication.channel !== null && subscription.info !== null);
    expect(s.received().filter(([event]) => event === 'host:join')[1]![1]).toMatchObject({ resume: 'token' });
    expect(publication.channel).toEqual(kept);
    expect(subscription.info).toEqual(resumedInfo);
    expect(events).toEqual([`resumed ${resumedInfo.subscriptionId}`]);
    await s.send('channel:added', { id: 1999, name: 'marker-end', kind: 'video', publisher: 'hx', anchor: 0, codec: { codec: 'vp8' } });
    expect(creates()).toBe(before);
    expect(s.commands.filter((c) => c.type === 'publish' && c.channel === kept.id).length).toBe(2);
  }, 25_000);
});
