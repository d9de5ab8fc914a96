import { Cube, Ownership, type NetworkCoordinates } from '@cubecast/overlay';
import { channelPublishSchema, emulationSchema, OBSERVER_EVENT_TYPES, ROUTING_POLICIES, spaReportSchema, spaSpecSchema, type ChannelInfo, type ObserverEvent } from '@cubecast/protocol';
import { z } from 'zod';
import type { HostRecord, Store, SubscriptionRecord, SuspendedSession } from './store.js';
import { decodeVersionedJson } from './versioned-json.js';

/**
 * A room as its owner saves it in Redis, so that another node (or this one, restarted) goes on
 * where it stood: a core JSON document with a version (cube shape, channels, subscriptions,
 * sessions waiting, events) and one JSON record per host, with the cube ids it owns. Hosts are
 * most of a big room (a 65536-host room is some 15 MB of them) and few change at a time: a save
 * writes the core and the records of the hosts that changed (`Store.changedHosts`), not the
 * whole room. The owners of the ids are in the hosts' records, not the core, for the same
 * reason: in version 1 every save wrote all of them (177147 ids for 65536 hosts, 1.5 MB), and
 * at that size the encoding took a tenth of the owner's time. docs/protocol.md ("Room state")
 * describes both. What is measured (link reports, network coordinates) is not saved: hosts
 * report it again within seconds.
 */
export const ROOM_STATE_VERSION = 2;

/**
 * The largest core document and host record read back (a host record is a few hundred bytes,
 * its SPA report at most a few KB, but in a cube an observer forced to 65536 ids for one host
 * its ids are some 400 KB). Past these a document is refused rather than parsed: a corrupted or
 * foreign key must not take a node's memory.
 */
export const MAX_ROOM_STATE_BYTES = 16 * 1024 * 1024;
export const MAX_HOST_RECORD_BYTES = 1024 * 1024;

/** A saved room that cannot be read back: not JSON, another version, or not a room. */
export class RoomStateError extends Error {
  override readonly name = 'RoomStateError';
}

const count = z.number().int().nonnegative();
const time = z.number().finite();
const id = z.string().min(1).max(64);

const channelSchema = z
  .strictObject({ id: count.max(0xffffffff), name: z.string(), kind: z.string(), publisher: id, anchor: count, codec: z.unknown() })
  .superRefine((channel, context) => {
    const spec = channelPublishSchema.safeParse({ name: channel.name, kind: channel.kind, codec: channel.codec });
    if (!spec.success) context.addIssue({ code: 'custom', message: `channel ${channel.name}: ${spec.error.issues[0]?.message ?? 'invalid'}` });
  });

const subscriptionSchema = z.strictObject({
  subscriptionId: id,
  channel: z.string().min(1).max(64),
  subscriber: id,
  maxLatencyMs: z.number().positive(),
  pipeline: z.array(spaSpecSchema),
  target: count,
  latencyMs: z.number().nonnegative().optional(),
  hops: count.optional(),
  framesDecoded: count.optional(),
  misses: count,
  /** null: never tried (in memory, -Infinity, which JSON cannot carry). */
  lastSwapAttempt: time.nullable(),
});

const hostSchema = z.strictObject({
  v: z.literal(ROOM_STATE_VERSION),
  hostId: id,
  /** The cube ids it owns. */
  ids: z.array(count).min(1),
  sessionToken: z.string().min(1).max(64),
  name: z.string().max(64).optional(),
  emulation: emulationSchema.optional(),
  connectedAt: time,
  node: z.string().min(1).max(200),
  connection: z.string().min(1).max(64),
  unclaimedSince: time.optional(),
  rejected: count,
  spas: spaReportSchema.shape.spas,
  bytes: z.strictObject({ channels: count, subscriptions: count, spas: count }),
});

const roomStateSchema = z.strictObject({
  v: z.literal(ROOM_STATE_VERSION),
  savedAt: time,
  policy: z.enum(ROUTING_POLICIES),
  nextIds: z.strictObject({ host: count, subscription: count, channel: count }),
  counters: z.strictObject({ rejectedPayloads: count, deltasSent: count, statesSent: count, joins: count }),
  cube: z
    .strictObject({
      k: z.number().int().min(2).max(36),
      n: z.number().int().min(1).max(32),
      epoch: count,
      revision: count,
      pinned: z.boolean(),
    })
    .nullable(),
  suspended: z.array(
    z.strictObject({ token: z.string().min(1).max(64), hostId: id, channels: z.array(channelSchema), subscriptions: z.array(subscriptionSchema), until: time }),
  ),
  channels: z.array(channelSchema),
  subscriptions: z.array(subscriptionSchema),
  events: z.array(
    z.strictObject({ time, type: z.enum(OBSERVER_EVENT_TYPES), message: z.string(), hostId: id.optional(), details: z.record(z.string(), z.unknown()).optional() }),
  ),
});

type SavedSubscription = z.infer<typeof subscriptionSchema>;

/** Field by field, in one order: a saved room's text depends only on the room. */
const saveSubscription = (sub: SubscriptionRecord): SavedSubscription => ({
  subscriptionId: sub.subscriptionId,
  channel: sub.channel,
  subscriber: sub.subscriber,
  maxLatencyMs: sub.maxLatencyMs,
  pipeline: sub.pipeline,
  target: sub.target,
  ...(sub.latencyMs !== undefined && { latencyMs: sub.latencyMs }),
  ...(sub.hops !== undefined && { hops: sub.hops }),
  ...(sub.framesDecoded !== undefined && { framesDecoded: sub.framesDecoded }),
  misses: sub.misses,
  lastSwapAttempt: Number.isFinite(sub.lastSwapAttempt) ? sub.lastSwapAttempt : null,
});

const loadSubscription = ({ lastSwapAttempt, ...sub }: SavedSubscription): SubscriptionRecord => ({
  ...(sub as Omit<SubscriptionRecord, 'lastSwapAttempt'>),
  lastSwapAttempt: lastSwapAttempt ?? -Infinity,
});

/** One host's record as saved, with the cube ids it owns. */
function encodeHost(store: Store, host: HostRecord): string {
  const ids = store.cube!.ownership.idsOf(host.hostId);
  const saved: z.input<typeof hostSchema> = {
    v: ROOM_STATE_VERSION,
    hostId: host.hostId,
    // In order: a room's saved text depends only on the room, not on how its ids moved.
    ids: [...ids].sort((a, b) => a - b),
    sessionToken: host.sessionToken,
    ...(host.name !== undefined && { name: host.name }),
    ...(host.emulation !== undefined && { emulation: host.emulation }),
    connectedAt: host.connectedAt,
    node: host.node,
    connection: host.connection,
    ...(host.unclaimedSince !== undefined && { unclaimedSince: host.unclaimedSince }),
    rejected: host.rejected,
    spas: host.spas,
    bytes: { channels: host.bytes.channels, subscriptions: host.bytes.subscriptions, spas: host.bytes.spas },
  };
  return JSON.stringify(saved);
}

/** The room's core document: everything but the hosts' records. */
export function encodeRoomCore(store: Store, savedAt: number): string {
  const cube = store.cube;
  const state: z.input<typeof roomStateSchema> = {
    v: ROOM_STATE_VERSION,
    savedAt,
    policy: store.policy,
    nextIds: store.nextIds,
    counters: store.counters,
    cube: cube ? { k: cube.cube.k, n: cube.cube.n, epoch: cube.epoch, revision: cube.revision, pinned: cube.pinned } : null,
    suspended: [...store.suspended].map(([token, session]) => ({
      token,
      hostId: session.hostId,
      channels: [...session.channels],
      subscriptions: session.subscriptions.map(saveSubscription),
      until: session.until,
    })),
    channels: [...store.channels.values()],
    subscriptions: [...store.subscriptions.values()].map(saveSubscription),
    events: store.events,
  };
  return JSON.stringify(state);
}

/** The hosts' records to write (changed or new) and to delete (gone) since the last save. */
export interface HostChanges {
  readonly set: [hostId: string, record: string][];
  readonly removed: string[];
}

/** What changed among the hosts since the last save, taken: the store starts counting afresh. */
export function takeHostChanges(store: Store): HostChanges {
  const changes: HostChanges = { set: [], removed: [] };
  for (const hostId of store.changedHosts) {
    const host = store.hosts.get(hostId);
    if (host) changes.set.push([hostId, encodeHost(store, host)]);
    else changes.removed.push(hostId);
  }
  store.changedHosts.clear();
  return changes;
}

/** The whole room as saved (core and every host's record): for a first save and for tests. */
export function encodeRoom(store: Store, savedAt: number): { core: string; hosts: Map<string, string> } {
  return { core: encodeRoomCore(store, savedAt), hosts: new Map([...store.hosts.values()].map((host) => [host.hostId, encodeHost(store, host)])) };
}

/** One saved host record, checked: it must be a host's record, and that host's. */
function decodeHost(hostId: string, text: string): z.output<typeof hostSchema> {
  const host = decodeVersionedJson(text, { what: `host ${hostId}'s saved record`, version: ROOM_STATE_VERSION, maxBytes: MAX_HOST_RECORD_BYTES, schema: hostSchema }, (message) => new RoomStateError(message));
  if (host.hostId !== hostId) throw new RoomStateError(`the saved record under ${hostId} is ${host.hostId}'s`);
  return host;
}

/**
 * A saved room (its core document and its hosts' records) back as a store. Checked whole
 * before anything is built: a document that is not exactly a room of this version, a record
 * that is not its host's, or parts that disagree (an id owned twice or by nobody, hosts and
 * no cube) are refused with a RoomStateError.
 */
export function decodeRoomState(core: string, records: ReadonlyMap<string, string>, coordinates: NetworkCoordinates): Store {
  const state = decodeVersionedJson(core, { what: 'a saved room', version: ROOM_STATE_VERSION, maxBytes: MAX_ROOM_STATE_BYTES, schema: roomStateSchema }, (message) => new RoomStateError(message));
  const hosts = new Map<string, HostRecord>();
  const idsOf = new Map<string, number[]>();
  for (const [hostId, text] of records) {
    const { v: _version, ids, ...saved } = decodeHost(hostId, text);
    idsOf.set(hostId, ids);
    hosts.set(hostId, {
      ...(saved as Omit<HostRecord, 'sent' | 'bytes'>),
      // What each host was told is not saved: a new owner sends every host its whole state.
      sent: { ids: new Set(), neighbours: new Map() },
      bytes: { ...saved.bytes, links: 0 },
    });
  }
  let cube: Store['cube'];
  if (state.cube) {
    const { k, n, epoch, revision, pinned } = state.cube;
    const shape = new Cube(k, n);
    const keys = [...idsOf.keys()];
    const owners = new Int32Array(shape.size).fill(-1);
    keys.forEach((hostId, index) => {
      for (const id of idsOf.get(hostId)!) {
        if (id >= shape.size) throw new RoomStateError(`host ${hostId}'s saved id ${id} is not in the ${shape}`);
        if (owners[id] !== -1) throw new RoomStateError(`the saved id ${id} is owned by both ${keys[owners[id]!]} and ${hostId}`);
        owners[id] = index;
      }
    });
    try {
      cube = { cube: shape, ownership: Ownership.restore(shape, keys, owners), epoch, revision, pinned };
    } catch (error) {
      throw new RoomStateError(`a saved room's cube cannot be restored: ${error instanceof Error ? error.message : String(error)}`);
    }
  } else if (hosts.size > 0) {
    throw new RoomStateError('a saved room has hosts but no cube');
  }
  const suspended = new Map<string, SuspendedSession>();
  for (const { token, hostId, channels, subscriptions, until } of state.suspended) {
    suspended.set(token, { hostId, channels: channels as ChannelInfo[], subscriptions: subscriptions.map(loadSubscription), until });
  }
  return {
    hosts,
    changedHosts: new Set(),
    sessions: new Map([...hosts.values()].map((host) => [host.sessionToken, host.hostId])),
    suspended,
    channels: new Map((state.channels as ChannelInfo[]).map((channel) => [channel.name, channel])),
    subscriptions: new Map(state.subscriptions.map((sub) => [sub.subscriptionId, loadSubscription(sub)])),
    links: new Map(),
    coordinates,
    events: state.events as ObserverEvent[],
    cube,
    policy: state.policy,
    nextIds: state.nextIds,
    counters: state.counters,
  };
}
