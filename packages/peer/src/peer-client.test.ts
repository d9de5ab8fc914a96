import { ClosedError, PROTOCOL_VERSION, type CubeDelta, type CubeState } from '@cubecast/protocol';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server, type Socket as ServerSocket } from 'socket.io';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { EngineCommand } from './engine/worker-protocol.js';
import { CubecastPeer } from './peer-client.js';
import { FakeConnection } from './testing/fake-connection.js';

/**
 * The real peer client, driven by a socket.io server this test scripts: what it does with
 * `cube:state`, `cube:delta` and signals, seen through the WebRTC connections it makes (fakes,
 * since Node has no WebRTC) and the commands it gives its engine worker (a fake).
 */


/** Resolves once `check` holds (vitest polls it), else fails the test after 5 s. */
const until = (check: () => boolean) => vi.waitUntil(check, { timeout: 5000, interval: 5 });

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function scenario(state: CubeState) {
  const http = createServer();
  const io = new Server(http, { transports: ['websocket'] });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise<void>((resolve) => io.close(() => resolve())));
  const received: [string, unknown][] = [];
  let socket: ServerSocket | undefined;
  io.on('connection', (s) => {
    socket = s;
    s.onAny((event: string, payload: unknown, ack?: (result: unknown) => void) => {
      received.push([event, payload]);
      if (event === 'host:join') ack?.({ ok: true, state, channels: [], sessionToken: 'token' });
      else ack?.({ ok: true });
    });
  });

  const commands: EngineCommand[] = [];
  const worker = { postMessage: (command: EngineCommand) => commands.push(command), terminate() {}, onmessage: null, onerror: null };
  const connections: FakeConnection[] = [];
  const peer = new CubecastPeer({
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    createWorker: () => worker as unknown as Worker,
    createConnection: (initiator) => {
      const connection = new FakeConnection(initiator);
      connections.push(connection);
      return { connection, channel: {} as RTCDataChannel };
    },
  });
  closers.push(() => peer.close());
  await until(() => peer.snapshot().connection === 'connected' && socket !== undefined);
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
    socket!.emit(event, payload);
    const marker = `marker-${markers++}`;
    socket!.emit('channel:added', { id: 1000 + markers, name: marker, kind: 'video', publisher: 'hx', anchor: 0, codec: { codec: 'vp8' } });
    await until(() => peer.snapshot().channels.some((c) => c.name === marker));
  };
  return { peer, commands, connections, connectionTo, linkCommands, lastView, send, received };
}

const base: CubeState = { hostId: 'h1', epoch: 1, revision: 1, k: 2, n: 2, ids: [1], neighbours: [[0, 'h0'], [3, 'h2']], policy: 'greedy' };
const delta = (fields: Partial<CubeDelta>): CubeDelta => ({ epoch: 1, revision: 2, addedIds: [], removedIds: [], neighbours: [], ...fields });

describe('CubecastPeer and the cube view', () => {
  it('joins with the protocol version and offers links only to neighbours whose ids sort after its own', async () => {
    const s = await scenario(base);
    expect(s.received[0]).toEqual(['host:join', { protocol: PROTOCOL_VERSION }]);
    expect(s.linkCommands()).toEqual(['link:add h2']);
    expect(s.connectionTo('h2')!.initiator).toBe(true);
    expect(s.lastView()).toMatchObject({ hostId: 'h1', epoch: 1, ids: [1], neighbours: [[0, 'h0'], [3, 'h2']] });
    expect(s.peer.snapshot().links.map((l) => l.hostId)).toEqual(['h0', 'h2']);
    // The offer it makes goes to the server for h2, stamped with the epoch.
    s.connectionTo('h2')!.emit('signal', { type: 'offer', sdp: 'v=0' });
    await until(() => s.received.some(([event]) => event === 'signal:send'));
    expect(s.received.find(([event]) => event === 'signal:send')![1]).toEqual({ to: 'h2', epoch: 1, data: { type: 'offer', sdp: 'v=0' } });
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

  it('closes once: destroys its connections, stops its engine, says peer:closed last, and refuses calls after', async () => {
    const s = await scenario(base);
    const events: string[] = [];
    s.peer.on('peer:closed', () => events.push('closed'));
    s.peer.close();
    s.peer.close();
    expect(events).toEqual(['closed']);
    expect(s.connectionTo('h2')!.destroyed).toBe(1);
    expect(s.commands.at(-1)).toEqual({ type: 'stop' });
    await expect(s.peer.subscribe('cam', 500)).rejects.toBeInstanceOf(ClosedError);
  });
});
