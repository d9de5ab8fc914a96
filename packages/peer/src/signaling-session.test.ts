import { ClosedError, PROTOCOL_VERSION, type CubeDelta, type CubeState } from '@cubecast/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SignalingSession, type SessionEvents } from './signaling-session.js';
import { startScriptedServer, type ScriptedServer } from './testing/scripted-server.js';

const until = (check: () => boolean) => vi.waitUntil(check, { timeout: 5000, interval: 5 });

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

const base: CubeState = { hostId: 'h1', epoch: 1, revision: 1, k: 2, n: 2, ids: [1], neighbours: [[0, 'h0']], policy: 'greedy' };
const delta = (fields: Partial<CubeDelta>): CubeDelta => ({ epoch: 1, revision: 2, addedIds: [], removedIds: [], neighbours: [], ...fields });
const channel = { id: 7, name: 'cam', kind: 'video', publisher: 'h0', anchor: 0, codec: { codec: 'vp8' } };

/** A server that admits every join with `state` (read at each join) and acks the rest. */
async function server(state: () => CubeState, port?: number): Promise<ScriptedServer> {
  const s = await startScriptedServer((event) => (event === 'host:join' ? { ok: true, state: state(), channels: [channel], sessionToken: `token-${state().hostId}` } : { ok: true }), port);
  closers.push(() => s.close());
  return s;
}

/** The session's events in order, as `name` or `name payload-summary`. */
function record(session: SignalingSession) {
  const events: [keyof SessionEvents, unknown][] = [];
  for (const name of ['connection:changed', 'session:joined', 'session:lost', 'session:failed', 'cube:changed', 'signal:received', 'channel:added'] as const) {
    session.on(name, (payload) => events.push([name, payload]));
  }
  return events;
}

function open(s: ScriptedServer, emulation?: { position: [number, number] }) {
  const session = new SignalingSession({ url: s.url, name: 'tab', emulation: () => emulation });
  closers.push(() => session.close());
  return session;
}

describe('SignalingSession', () => {
  it('joins with the protocol version, name and emulation, then reports the directory and view before it says connected', async () => {
    const s = await server(() => base);
    const session = open(s, { position: [10, 20] });
    const events = record(session);
    await until(() => session.connectionState === 'connected');
    expect(s.received[0]).toEqual(['host:join', { protocol: PROTOCOL_VERSION, name: 'tab', emulation: { position: [10, 20] } }]);
    expect(events.map(([name]) => name)).toEqual(['session:joined', 'connection:changed']);
    expect(events[0]![1]).toEqual({ channels: [channel], state: base });
    expect(session.state).toEqual(base);
    expect(session.sessionToken).toBe('token-h1');
    expect(session.cube?.toText(3)).toBe('11');
    expect(session.joined).toBe(true);
  });

  it('applies deltas of its epoch in revision order and drops the rest; a state of a new epoch says so', async () => {
    const s = await server(() => base);
    const session = open(s);
    await until(() => session.joined);
    const events = record(session);
    s.socket()!.emit('cube:delta', delta({ revision: 2, addedIds: [2], neighbours: [[0, null], [3, 'h3']] }));
    s.socket()!.emit('cube:delta', delta({ revision: 2, addedIds: [3] })); // a repeat
    s.socket()!.emit('cube:delta', delta({ epoch: 2, revision: 5, addedIds: [3] })); // an epoch not begun
    s.socket()!.emit('cube:delta', delta({ revision: 3, removedIds: [1] }));
    s.socket()!.emit('cube:state', { ...base, epoch: 2, revision: 1, ids: [0] });
    s.socket()!.emit('cube:state', { ...base, epoch: 2, revision: 2, ids: [0, 1] });
    await until(() => events.length === 4);
    expect(events).toEqual([
      ['cube:changed', { state: { ...base, revision: 2, ids: [1, 2], neighbours: [[3, 'h3']] }, epochChanged: false }],
      ['cube:changed', { state: { ...base, revision: 3, ids: [2], neighbours: [[3, 'h3']] }, epochChanged: false }],
      ['cube:changed', { state: { ...base, epoch: 2, revision: 1, ids: [0] }, epochChanged: true }],
      ['cube:changed', { state: { ...base, epoch: 2, revision: 2, ids: [0, 1] }, epochChanged: false }],
    ]);
  });

  it('passes on signals of the current epoch only, with their stripe, and stamps its own with it', async () => {
    const s = await server(() => base);
    const session = open(s);
    await until(() => session.joined);
    const events = record(session);
    s.socket()!.emit('signal:receive', { from: 'h0', epoch: 0, data: { type: 'offer', sdp: 'old' } });
    s.socket()!.emit('signal:receive', { from: 'h0', epoch: 1, data: { type: 'offer', sdp: 'now' } });
    s.socket()!.emit('signal:receive', { from: 'h0', epoch: 1, data: { type: 'offer', sdp: 'wider' }, stripe: 2 });
    s.socket()!.emit('channel:added', { ...channel, name: 'marker' });
    await until(() => events.some(([name]) => name === 'channel:added'));
    expect(events.filter(([name]) => name === 'signal:received')).toEqual([
      ['signal:received', { from: 'h0', data: { type: 'offer', sdp: 'now' }, stripe: 0 }],
      ['signal:received', { from: 'h0', data: { type: 'offer', sdp: 'wider' }, stripe: 2 }],
    ]);
    session.sendSignal('h0', { type: 'answer', sdp: 'v=0' });
    session.sendSignal('h0', { type: 'answer', sdp: 'v=1' }, 3);
    await until(() => s.received.filter(([event]) => event === 'signal:send').length === 2);
    // Stripe 0 is sent as before: no field.
    expect(s.received.filter(([event]) => event === 'signal:send').map(([, payload]) => payload)).toEqual([
      { to: 'h0', epoch: 1, data: { type: 'answer', sdp: 'v=0' } },
      { to: 'h0', epoch: 1, data: { type: 'answer', sdp: 'v=1' }, stripe: 3 },
    ]);
  });

  it('after a server restart on the same port, says the session was lost and joins again as the new server says', async () => {
    let state = base;
    const first = await server(() => state);
    const session = open(first);
    await until(() => session.joined);
    const events = record(session);
    await first.close();
    await until(() => events.some(([name]) => name === 'session:lost'));
    expect(session.state).toBeNull();
    expect(session.joined).toBe(false);
    expect(session.connectionState).toBe('disconnected');
    state = { ...base, hostId: 'h9', epoch: 4 };
    const second = await server(() => state, first.port);
    await vi.waitUntil(() => session.joined, { timeout: 15_000, interval: 20 });
    expect(second.received[0]![0]).toBe('host:join');
    expect(session.state?.hostId).toBe('h9');
    expect(session.sessionToken).toBe('token-h9');
    const names = events.map(([name]) => name);
    expect(names.slice(0, 2)).toEqual(['connection:changed', 'session:lost']);
    expect(names.slice(-2)).toEqual(['session:joined', 'connection:changed']);
    expect(events.at(-1)![1]).toBe('connected');
  }, 20_000);

  it('says why a join was refused', async () => {
    const s = await startScriptedServer((event) => (event === 'host:join' ? { ok: false, code: 'CUBE_FULL', message: 'the cube is full' } : { ok: true }));
    closers.push(() => s.close());
    const session = new SignalingSession({ url: s.url, emulation: () => undefined });
    closers.push(() => session.close());
    const failed = new Promise((resolve) => session.once('session:failed', resolve));
    expect(await failed).toEqual({ message: 'could not join: the cube is full' });
    expect(session.joined).toBe(false);
  });

  it('joins again shortly when the room is changing server node (UNAVAILABLE), and says so', async () => {
    let refusals = 2;
    const s = await startScriptedServer((event) =>
      event !== 'host:join' ? { ok: true } : refusals-- > 0 ? { ok: false, code: 'UNAVAILABLE', message: 'room "default" is changing owner' } : { ok: true, state: base, channels: [], sessionToken: 't' },
    );
    closers.push(() => s.close());
    const session = new SignalingSession({ url: s.url, emulation: () => undefined });
    closers.push(() => session.close());
    const retrying: unknown[] = [];
    session.on('session:retrying', (event) => retrying.push(event));
    session.on('session:failed', (event) => retrying.push(['failed', event]));
    await vi.waitUntil(() => session.joined, { timeout: 5000, interval: 20 });
    expect(retrying).toEqual([
      { message: 'joining again in 1 s: room "default" is changing owner' },
      { message: 'joining again in 1 s: room "default" is changing owner' },
    ]);
    expect(s.received.filter(([event]) => event === 'host:join')).toHaveLength(3);
  });

  it('closes once, says so last, and refuses requests after', async () => {
    const s = await server(() => base);
    const session = open(s);
    await until(() => session.joined);
    const events: string[] = [];
    session.on('session:lost', () => events.push('lost'));
    session.on('session:closed', () => events.push('closed'));
    session.close();
    session.close();
    expect(events).toEqual(['closed']);
    expect(session.closed).toBe(true);
    await expect(session.request('channel:unpublish', { name: 'cam' })).rejects.toBeInstanceOf(ClosedError);
  });
});
