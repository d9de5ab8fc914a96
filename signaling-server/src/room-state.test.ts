import { NetworkCoordinates } from '@cubecast/overlay';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONTROLLER_CONFIG, OverlayController, type Outbox } from './overlay-controller.js';
import { decodeRoomState, encodeRoom, MAX_ROOM_STATE_BYTES, RoomStateError, takeHostChanges } from './room-state.js';
import { createMemoryStore, type Store } from './store.js';
import { TEST_VIDEO_CODEC as VIDEO } from './testing/virtual-host.js';

/** An outbox that only counts: the controller's state is what these tests look at. */
function countingOutbox(): Outbox & { sent: number } {
  const outbox = {
    sent: 0,
    host: () => void outbox.sent++,
    allHosts: () => void outbox.sent++,
    observerEvent: () => undefined,
    changed: () => undefined,
    disconnect: () => undefined,
    dropConnection: () => undefined,
  };
  return outbox;
}

let clock = 1_700_000_000_000;
const config = { ...DEFAULT_CONTROLLER_CONFIG, now: () => clock };
const controllerOf = (store: Store) => new OverlayController(store, countingOutbox(), config);
const from = (connection: string) => ({ node: 'node-a', connection });

/** A room that has been through joins, a channel, subscriptions, reports, a lost host and a leave. */
function busyRoom(): OverlayController {
  const c = controllerOf(createMemoryStore(new NetworkCoordinates()));
  const hosts = Array.from({ length: 12 }, (_, i) => c.join({ name: `tab ${i}` }, from(`sock${i}`)).hostId);
  c.publish(hosts[0]!, { name: 'cam', kind: 'video', codec: VIDEO });
  c.publish(hosts[5]!, { name: 'mic', kind: 'video', codec: VIDEO });
  const sub = c.subscribe(hosts[3]!, { channel: 'cam', maxLatencyMs: 150, pipeline: [{ spa: 'thin', config: { maxLayer: 0 } }] });
  c.subscribe(hosts[5]!, { channel: 'cam', maxLatencyMs: 90, pipeline: [] });
  c.subscribe(hosts[7]!, { channel: 'mic', maxLatencyMs: 200, pipeline: [] });
  c.report(hosts[3]!, { subscriptionId: sub.subscriptionId, latencyMs: 40, hops: 2, framesDecoded: 10 });
  clock += 1000;
  c.leave(hosts[5]!, 'disconnect'); // suspended: its channel and subscription kept for it
  c.leave(hosts[9]!, 'leave');
  c.setEmulation(hosts[1]!, { position: [10, 20] });
  return c;
}

describe('room state', () => {
  it('round-trips a room exactly, and the room restored goes on as the original does', () => {
    const original = busyRoom();
    const saved = encodeRoom(original.store, clock);
    const restored = decodeRoomState(saved.core, saved.hosts, new NetworkCoordinates());
    expect(encodeRoom(restored, clock)).toEqual(saved);
    expect(restored.hosts.get('h2')!.emulation).toEqual({ position: [10, 20] });
    expect([...restored.suspended.values()].map((s) => [s.hostId, s.channels.map((ch) => ch.name), s.subscriptions.length])).toEqual([['h6', ['mic'], 1]]);
    // Both go on alike: same ids handed out, same channels and sessions. Which ids move where
    // may differ (a join starts from a random most-loaded host; the generator's state is not
    // saved), so the cubes are compared for balance and exactness, not id by id.
    const a = controllerOf(original.store);
    const b = controllerOf(restored);
    for (const c of [a, b]) {
      c.join({}, from('late'));
      c.leave('h1', 'leave');
      c.publish('h4', { name: 'screen', kind: 'video', codec: VIDEO });
      c.join({ resume: [...c.store.suspended.keys()][0]! }, from('back'));
    }
    const withoutMoves = (store: Store) => {
      const { core, hosts } = encodeRoom(store, clock);
      const doc = { ...(JSON.parse(core) as { cube: object; counters: object; subscriptions: object[]; channels: object[] }), hosts: [...hosts.values()].map((text) => JSON.parse(text) as object) };
      // New joins' tokens are random; the rest is where ids moved.
      for (const part of [doc.cube, doc.counters, ...doc.hosts, ...doc.subscriptions, ...doc.channels]) {
        for (const key of ['ids', 'deltasSent', 'target', 'anchor', 'sessionToken']) delete (part as Record<string, unknown>)[key];
      }
      return doc;
    };
    expect(withoutMoves(b.store)).toEqual(withoutMoves(a.store));
    const { ownership, cube } = b.store.cube!;
    const loads = ownership.hosts().map((host) => ownership.idsOf(host).length);
    expect(loads.reduce((sum, load) => sum + load, 0)).toBe(cube.size);
    expect(Math.max(...loads) - Math.min(...loads)).toBeLessThanOrEqual(1);
  });

  it('keeps a room with no host as one with no cube', () => {
    const c = controllerOf(createMemoryStore(new NetworkCoordinates()));
    c.leave(c.join({}, from('only')).hostId, 'leave');
    const { core, hosts } = encodeRoom(c.store, clock);
    const restored = decodeRoomState(core, hosts, new NetworkCoordinates());
    expect(restored.cube).toBeUndefined();
    expect(restored.nextIds.host).toBe(1);
  });

  it('reads the documented golden room, and writes it back byte for byte', () => {
    const store = decodeRoomState(GOLDEN, GOLDEN_HOSTS, new NetworkCoordinates());
    expect(store.cube!.ownership.idsOf('h1')).toEqual([0, 1]);
    expect(store.cube!.ownership.idsOf('h2')).toEqual([2, 3]);
    expect(store.channels.get('cam')).toEqual({ id: 1, name: 'cam', kind: 'sensor', publisher: 'h1', anchor: 0, codec: { codec: 'f32', rateHz: 10, fields: ['t'] } });
    expect(store.subscriptions.get('s1')!.lastSwapAttempt).toBe(-Infinity);
    expect(store.sessions.get('tok-h2')).toBe('h2');
    expect(encodeRoom(store, 1_700_000_000_000)).toEqual({ core: GOLDEN, hosts: GOLDEN_HOSTS });
  });

  it("saves only the records of hosts that changed since the last save", () => {
    const store = createMemoryStore(new NetworkCoordinates(), { saved: true });
    const c = controllerOf(store);
    const [a, b, x] = ['one', 'two', 'three'].map((name, i) => c.join({ name }, from(`sock${i}`)).hostId);
    expect(takeHostChanges(store).set.map(([hostId]) => hostId)).toEqual([a, b, x]);
    expect(takeHostChanges(store)).toEqual({ set: [], removed: [] });
    c.setEmulation(b!, { upKbps: 500 });
    c.leave(x!, 'leave');
    c.publish(a!, { name: 'cam', kind: 'video', codec: VIDEO }); // a's bytes held
    const changes = takeHostChanges(store);
    expect(changes.set.map(([hostId]) => hostId).sort()).toEqual([a, b].sort());
    expect(changes.removed).toEqual([x]);
    expect(JSON.parse(changes.set.find(([hostId]) => hostId === b)![1])).toMatchObject({ hostId: b, emulation: { upKbps: 500 } });
    // Ids that move change both ends' records: a join saves the newcomer and those it took ids from.
    const before = new Map([a!, b!].map((hostId) => [hostId, store.cube!.ownership.idsOf(hostId).length]));
    const d = c.join({}, from('sock3')).hostId;
    const gave = [a!, b!].filter((hostId) => store.cube!.ownership.idsOf(hostId).length < before.get(hostId)!);
    expect(gave.length).toBeGreaterThan(0);
    const afterJoin = takeHostChanges(store).set;
    expect(afterJoin.map(([hostId]) => hostId).sort()).toEqual([d, ...gave].sort());
    for (const [hostId, text] of afterJoin) expect((JSON.parse(text) as { ids: number[] }).ids).toEqual([...store.cube!.ownership.idsOf(hostId)].sort((x, y) => x - y));
    // A store not saved anywhere tracks nothing.
    const unsaved = createMemoryStore(new NetworkCoordinates());
    controllerOf(unsaved).join({}, from('s'));
    expect(unsaved.changedHosts.size).toBe(0);
  });

  it('refuses what is not a saved room of this version, saying what is wrong', () => {
    const golden = JSON.parse(GOLDEN) as Record<string, unknown> & { cube: Record<string, unknown>; channels: Record<string, unknown>[] };
    const withH2 = (change: (record: Record<string, unknown>) => void) => {
      const record = JSON.parse(GOLDEN_HOSTS.get('h2')!) as Record<string, unknown>;
      change(record);
      return new Map([...GOLDEN_HOSTS, ['h2', JSON.stringify(record)]]);
    };
    const variant = (change: (doc: typeof golden) => void) => {
      const doc = structuredClone(golden);
      change(doc);
      return JSON.stringify(doc);
    };
    const refusals: [string, RegExp, ReadonlyMap<string, string>?][] = [
      ['{"v":1,', /not JSON/],
      ['null', /version undefined/],
      [variant((d) => (d.v = 1)), /version 1; this server reads version 2/],
      [GOLDEN, /id 3 has no owner/, withH2((h) => (h.ids = [2]))],
      [GOLDEN, /id 1 is owned by both h1 and h2/, withH2((h) => (h.ids = [1, 2, 3]))],
      [GOLDEN, /h2's saved id 4 is not in the 2-ary 2-cube/, withH2((h) => (h.ids = [2, 3, 4]))],
      [GOLDEN, /h2's saved record is malformed at ids/, withH2((h) => (h.ids = []))],
      [GOLDEN, /h2's saved record of version 1; this server reads version 2/, withH2((h) => (h.v = 1))],
      [variant((d) => (d.cube = null as never)), /hosts but no cube/],
      [variant((d) => (d.channels[0]!.codec = { codec: 'f32', rateHz: -1, fields: ['t'] })), /malformed at channels.0/],
      [variant((d) => (d.extra = 1)), /malformed at \(top\)/],
      [' '.repeat(MAX_ROOM_STATE_BYTES + 1), /over the/],
      [GOLDEN, /under h2 is h1's/, new Map([...GOLDEN_HOSTS, ['h2', GOLDEN_HOSTS.get('h1')!]])],
      [GOLDEN, /h2's saved record is not JSON/, new Map([...GOLDEN_HOSTS, ['h2', '{']])],
      [GOLDEN, /h2's saved record is malformed at node/, new Map([...GOLDEN_HOSTS, ['h2', GOLDEN_HOSTS.get('h2')!.replace('"node-b"', '""')]])],
      [GOLDEN, /id 2 has no owner/, new Map([['h1', GOLDEN_HOSTS.get('h1')!]])],
    ];
    for (const [text, message, hosts = GOLDEN_HOSTS] of refusals) {
      expect(() => decodeRoomState(text, hosts, new NetworkCoordinates())).toThrow(RoomStateError);
      expect(() => decodeRoomState(text, hosts, new NetworkCoordinates())).toThrow(message);
    }
  });
});

/** docs/protocol.md, "Room state": two hosts in the 2-ary 2-cube, a channel and a subscription. */
const GOLDEN =
  '{"v":2,"savedAt":1700000000000,"policy":"greedy","nextIds":{"host":2,"subscription":1,"channel":1},' +
  '"counters":{"rejectedPayloads":0,"deltasSent":1,"statesSent":0,"joins":2},' +
  '"cube":{"k":2,"n":2,"epoch":1,"revision":2,"pinned":false},' +
  '"suspended":[],' +
  '"channels":[{"id":1,"name":"cam","kind":"sensor","publisher":"h1","anchor":0,"codec":{"codec":"f32","rateHz":10,"fields":["t"]}}],' +
  '"subscriptions":[{"subscriptionId":"s1","channel":"cam","subscriber":"h2","maxLatencyMs":100,"pipeline":[],"target":3,"misses":0,"lastSwapAttempt":null}],' +
  '"events":[{"time":1699999995000,"type":"join","message":"h2 joined (2 hosts)","hostId":"h2"}]}';

const GOLDEN_HOSTS = new Map([
  ['h1', '{"v":2,"hostId":"h1","ids":[0,1],"sessionToken":"tok-h1","connectedAt":1699999990000,"node":"node-a","connection":"sock1","rejected":0,"spas":[],"bytes":{"channels":60,"subscriptions":0,"spas":2}}'],
  ['h2', '{"v":2,"hostId":"h2","ids":[2,3],"sessionToken":"tok-h2","connectedAt":1699999995000,"node":"node-b","connection":"sock2","unclaimedSince":1700000000000,"rejected":0,"spas":[],"bytes":{"channels":0,"subscriptions":7,"spas":2}}'],
]);
