import { z } from 'zod';
import { MAX_PIPELINE_BYTES } from './data-plane.js';
import type { ErrorAck } from './errors.js';

/**
 * The signaling protocol (socket.io). Every client-to-server payload has a zod schema here;
 * the server validates with these and nothing else. Events are `noun:verb`. docs/protocol.md
 * describes each with its acks and error codes.
 */

/** Protocol limits. A payload past any of them is refused with BAD_PAYLOAD. */
export const LIMITS = {
  /** Any one event's payload, as JSON. */
  maxPayloadBytes: 64 * 1024,
  /** A simple-peer signal's `data`, as JSON (an SDP is a few KB). */
  maxSignalBytes: 32 * 1024,
  maxChannelsPerHost: 4,
  /**
   * Peer connections one link may use (stripes, one SCTP association each): a lossy link is
   * widened to this many (docs/protocol.md, Stripes).
   */
  maxStripesPerLink: 4,
  maxSubscriptionsPerHost: 16,
  maxPipelineStages: 8,
  maxLinksPerReport: 512,
  /** Channels one link report entry names as forwarded over it (a link carrying more names these). */
  maxChannelsPerLink: 32,
  /** Pipelines one host may report running (a few per channel it relays). */
  maxSpasPerReport: 32,
  maxNameLength: 64,
  maxLatencyBoundMs: 60_000,
  /**
   * A subscription's pipeline as JSON (UTF-8): route setups carry it hop by hop in one
   * data-plane message, so the server takes no pipeline the data plane cannot carry.
   */
  maxPipelineBytes: MAX_PIPELINE_BYTES,
  /**
   * What one host may make the server hold, in bytes of JSON: its channels, its
   * subscriptions' pipelines and its latest link and SPA reports together. Counts alone
   * would let 16 subscriptions of 4 KiB pipelines each cost every observer snapshot 64 KiB.
   */
  maxHostStateBytes: 32 * 1024,
} as const;

/** UTF-8 bytes of a value's JSON: what the limits on bytes count. */
export function jsonBytes(value: unknown): number {
  return new TextEncoder().encode(JSON.stringify(value) ?? '').byteLength;
}

/**
 * 2: signals name their stripe. A version-1 client would take a later stripe's offer for its
 * link's replacement, so it may not join a version-2 room.
 */
export const PROTOCOL_VERSION = 2;

const hostId = z.string().min(1).max(64);
const channelName = z
  .string()
  .min(1)
  .max(LIMITS.maxNameLength)
  .regex(/^[\w.\- ]+$/, 'letters, digits, spaces and . _ - only');
const finite = z.number().finite();
const epoch = z.number().int().nonnegative();

/** iOverlay's emulation extended to latency: see docs/protocol.md for the delay formula. */
export const emulationSchema = z.strictObject({
  /** A point on the emulated map; one-way delay between two hosts is their distance in ms. */
  position: z.tuple([finite.min(-10_000).max(10_000), finite.min(-10_000).max(10_000)]).optional(),
  upKbps: finite.positive().max(10_000_000).optional(),
  downKbps: finite.positive().max(10_000_000).optional(),
  /** iOverlay's per-node total: what comes in and what goes out share it (beside any up and down caps). */
  totalKbps: finite.positive().max(10_000_000).optional(),
});
export type Emulation = z.infer<typeof emulationSchema>;

export const ROUTING_POLICIES = ['odr', 'random', 'greedy'] as const;
export type RoutingPolicyName = (typeof ROUTING_POLICIES)[number];

/** How a room swaps subscribers nearer their publishers: the slides' depth-D rule, the paper's Fig. 5, or Cubecast's exhaustive search within D. */
export const SWAP_STRATEGIES = ['depth', 'fig5', 'best'] as const;
export type SwapStrategy = (typeof SWAP_STRATEGIES)[number];

/** A count of logical hops in words: "1 hop", "2 hops". */
export function hopsText(hops: number): string {
  return `${hops} ${hops === 1 ? 'hop' : 'hops'}`;
}

/** A room's swap planner in words, as the observer's header and the swap events say it: "depth rule, up to 2 hops". */
export function swapPlannerLabel(swaps: { readonly strategy: SwapStrategy; readonly depth: number }): string {
  if (swaps.strategy === 'fig5') return "Fig. 5's rule";
  return `${swaps.strategy === 'best' ? 'best within' : 'depth rule, up to'} ${hopsText(swaps.depth)}`;
}

/**
 * The overlay algorithms built into the app (`packages/peer/src/algorithms`), by name: a
 * deployment picks one per room (`cubecast serve --algorithm`); a visitor never sends code.
 */
export const ALGORITHM_NAMES = ['cube', 'gossip', 'coding', 'stress-tree', 'unicast-tree', 'random-tree', 'sflow'] as const;
export type AlgorithmName = (typeof ALGORITHM_NAMES)[number];

export function isAlgorithmName(value: string): value is AlgorithmName {
  return (ALGORITHM_NAMES as readonly string[]).includes(value);
}

/** The room a host joins when it names none (the page at `/`). */
export const DEFAULT_ROOM = 'default';

/** A room's name: what the URL `/r/<room>` carries, validated like a channel's. */
export const roomNameSchema = channelName;

export const hostJoinSchema = z.strictObject({
  protocol: z.literal(PROTOCOL_VERSION),
  name: z.string().max(LIMITS.maxNameLength).optional(),
  emulation: emulationSchema.optional(),
  /** The overlay to join; `default` when absent. */
  room: roomNameSchema.optional(),
  /**
   * The session token of this host's last join: within the grace period after its connection
   * was lost, the server gives back its host id, channels and subscriptions.
   */
  resume: z.string().min(1).max(64).optional(),
});

/**
 * simple-peer's signal objects: SDP offers and answers, trickled ICE candidates, and its
 * renegotiation and transceiver requests.
 */
export const signalDataSchema = z.union([
  z.strictObject({ type: z.enum(['offer', 'answer', 'pranswer', 'rollback']), sdp: z.string().max(LIMITS.maxSignalBytes) }),
  z.strictObject({
    type: z.literal('candidate'),
    candidate: z.strictObject({
      candidate: z.string().max(4096),
      sdpMLineIndex: z.number().int().nonnegative().max(1024).nullable().optional(),
      sdpMid: z.string().max(256).nullable().optional(),
      usernameFragment: z.string().max(256).nullable().optional(),
    }),
  }),
  // simple-peer's request that the offering side renegotiate (an ICE restart asked by the other side).
  z.strictObject({ type: z.literal('renegotiate').optional(), renegotiate: z.literal(true) }),
  z.strictObject({
    transceiverRequest: z.strictObject({ kind: z.enum(['audio', 'video']), init: z.record(z.string(), z.unknown()).optional() }),
  }),
]);
export type SignalData = z.infer<typeof signalDataSchema>;

/** A link's stripe: 0 (absent) is the link's own connection, 1 and up its added ones. */
const stripe = z.number().int().min(1).max(LIMITS.maxStripesPerLink - 1);

export const signalSendSchema = z.strictObject({ to: hostId, epoch, data: signalDataSchema, stripe: stripe.optional() });

export const videoCodecSchema = z.strictObject({
  codec: z.literal('vp8'),
  width: z.number().int().min(16).max(4096),
  height: z.number().int().min(16).max(4096),
  framerate: finite.min(1).max(120),
  bitrateKbps: finite.min(16).max(50_000),
  /** L1T3 lets relays thin the frame rate by dropping temporal layers. */
  scalabilityMode: z.enum(['L1T1', 'L1T2', 'L1T3']),
});
export const sensorCodecSchema = z.strictObject({
  codec: z.literal('f32'),
  rateHz: finite.min(0.01).max(10_000),
  fields: z.array(z.string().min(1).max(32)).min(1).max(16),
  unit: z.string().max(16).optional(),
});

/** A network-coded channel: GF(2^8) combinations of two other channels' chunks (coding SPA). */
export const codedCodecSchema = z.strictObject({
  codec: z.literal('gf256'),
  sources: z.tuple([channelName, channelName]),
});

export const channelPublishSchema = z.discriminatedUnion('kind', [
  z.strictObject({ name: channelName, kind: z.literal('video'), codec: videoCodecSchema }),
  z.strictObject({ name: channelName, kind: z.literal('sensor'), codec: sensorCodecSchema }),
  z.strictObject({ name: channelName, kind: z.literal('coded'), codec: codedCodecSchema }),
]);
export type ChannelPublish = z.infer<typeof channelPublishSchema>;

export const channelNameSchema = z.strictObject({ name: channelName });
export const emptySchema = z.strictObject({});

/** A stage of a subscription's pipeline: a built-in SPA by name, or a custom module by hash. */
export const spaSpecSchema = z.strictObject({
  spa: z.string().regex(/^([a-z][a-z0-9-]{0,31}|custom:[0-9a-f]{64})$/, 'a built-in SPA name or custom:<sha-256 hex>'),
  config: z.record(z.string().max(32), z.union([finite, z.string().max(256), z.boolean()])).optional(),
});
export type SpaSpec = z.infer<typeof spaSpecSchema>;

export const subscriptionCreateSchema = z.strictObject({
  channel: channelName,
  maxLatencyMs: finite.positive().max(LIMITS.maxLatencyBoundMs),
  pipeline: z
    .array(spaSpecSchema)
    .max(LIMITS.maxPipelineStages)
    .refine((pipeline) => jsonBytes(pipeline) <= LIMITS.maxPipelineBytes, {
      message: `the pipeline is longer than the ${LIMITS.maxPipelineBytes} bytes of JSON a route setup carries`,
    }),
});
export type SubscriptionCreate = z.infer<typeof subscriptionCreateSchema>;

const subscriptionId = z.string().min(1).max(64);
export const subscriptionRefSchema = z.strictObject({ subscriptionId });
export const subscriptionReportSchema = z.strictObject({
  subscriptionId,
  /** End-to-end latency the subscriber measured (accumulated in the data-plane header). */
  latencyMs: finite.nonnegative().max(3_600_000),
  hops: z.number().int().nonnegative().max(1024),
  framesDecoded: z.number().int().nonnegative().optional(),
});

export const linkReportSchema = z.strictObject({
  links: z
    .array(
      z.strictObject({
        hostId,
        state: z.enum(['connecting', 'open', 'stalled', 'failed']),
        rttMs: finite.nonnegative().max(60_000).optional(),
        throughputKbps: finite.nonnegative().max(100_000_000).optional(),
        lossRate: finite.min(0).max(1).optional(),
        /** The channels this host forwards to that host: the edges of their multicast trees. */
        channels: z.array(channelName).max(LIMITS.maxChannelsPerLink).optional(),
      }),
    )
    .max(LIMITS.maxLinksPerReport),
});
export type LinkReport = z.infer<typeof linkReportSchema>;

const spaName = z.string().regex(/^([a-z][a-z0-9-]{0,31}|custom:[0-9a-f]{64})$/);

/** The pipelines a host runs as a branch point, with their stages' per-chunk times. */
export const spaReportSchema = z.strictObject({
  spas: z
    .array(
      z.strictObject({
        channel: channelName,
        /** The variant the pipeline makes (protocol's pipelineVariant). */
        variant: z.number().int().min(0).max(0xffffffff),
        pipeline: z.array(spaName).max(LIMITS.maxPipelineStages),
        state: z.enum(['starting', 'running', 'dead']),
        stages: z
          .array(
            z.strictObject({
              name: spaName,
              chunksIn: z.number().int().nonnegative(),
              meanMicros: finite.nonnegative(),
              errors: z.number().int().nonnegative(),
            }),
          )
          .max(LIMITS.maxPipelineStages),
        /** Why it died (the watchdog, a crash, a module that could not start). */
        error: z.string().max(300).optional(),
      }),
    )
    .max(LIMITS.maxSpasPerReport),
});
export type SpaReport = z.infer<typeof spaReportSchema>;
export type HostSpa = SpaReport['spas'][number];

export const controlKillSchema = z.strictObject({ hostId });
export const controlEmulationSchema = z.strictObject({ hostId, emulation: emulationSchema });
export const controlPolicySchema = z.strictObject({ policy: z.enum(ROUTING_POLICIES) });
const int32 = z.number().int().min(-(2 ** 31)).max(2 ** 31 - 1);
/**
 * iOverlay's algorithm-specific control message: two integers the room's algorithm reads as
 * it will (gossip: its probability, a / b), to one host or (no hostId) every host.
 */
export const controlAlgorithmSchema = z.strictObject({ hostId: hostId.optional(), a: int32, b: int32 });
/** Try now to swap each of a subscriber's subscriptions nearer its publisher, as a missed bound would. */
export const controlSwapCheckSchema = z.strictObject({ hostId });
export const controlReembedSchema = z.strictObject({
  k: z.number().int().min(2).max(36).optional(),
  n: z.number().int().min(1).max(32).optional(),
});

/** The schema of every client-to-server event, by event name. */
export const CLIENT_EVENT_SCHEMAS = {
  'host:join': hostJoinSchema,
  'host:leave': emptySchema,
  'signal:send': signalSendSchema,
  'channel:publish': channelPublishSchema,
  'channel:unpublish': channelNameSchema,
  'channel:list': emptySchema,
  'subscription:create': subscriptionCreateSchema,
  'subscription:delete': subscriptionRefSchema,
  'subscription:report': subscriptionReportSchema,
  'link:report': linkReportSchema,
  'spa:report': spaReportSchema,
} as const;

/** A client event's payload as the server has it after validation: its schema's output. */
export type ClientPayload<E extends keyof typeof CLIENT_EVENT_SCHEMAS> = z.output<(typeof CLIENT_EVENT_SCHEMAS)[E]>;

export const OBSERVER_EVENT_SCHEMAS = {
  'control:kill': controlKillSchema,
  'control:emulation': controlEmulationSchema,
  'control:policy': controlPolicySchema,
  'control:algorithm': controlAlgorithmSchema,
  'control:reembed': controlReembedSchema,
  'control:swap-check': controlSwapCheckSchema,
} as const;

/** An observer control's payload as the server has it after validation. */
export type ObserverPayload<E extends keyof typeof OBSERVER_EVENT_SCHEMAS> = z.output<(typeof OBSERVER_EVENT_SCHEMAS)[E]>;

// ---- What the server sends -------------------------------------------------------------

/** A neighbour table entry: a logical id next to one of the host's ids, and its owner. */
export type NeighbourEntry = readonly [id: number, hostId: string];

export interface CubeState {
  readonly hostId: string;
  readonly epoch: number;
  /** Orders deltas within an epoch; a host drops anything not newer than what it has. */
  readonly revision: number;
  readonly k: number;
  readonly n: number;
  readonly ids: number[];
  readonly neighbours: NeighbourEntry[];
  readonly policy: RoutingPolicyName;
}

/** Changes to one host's ids and neighbour table; `hostId: null` removes an entry. */
export interface CubeDelta {
  readonly epoch: number;
  readonly revision: number;
  readonly addedIds: number[];
  readonly removedIds: number[];
  readonly neighbours: (readonly [id: number, hostId: string | null])[];
}

export interface ChannelInfo {
  /** Numeric id carried in every data-plane header of the channel (u32, never reused). */
  readonly id: number;
  readonly name: string;
  readonly kind: ChannelPublish['kind'];
  readonly publisher: string;
  /** The publisher's logical id every route of the channel starts from. */
  readonly anchor: number;
  readonly codec: ChannelPublish['codec'];
}

/** The server asks a publisher's host to set up (or move) the route to a subscriber. */
export interface RouteRequest {
  readonly subscriptionId: string;
  readonly channel: string;
  readonly subscriber: string;
  /** The subscriber's logical id the route ends at. */
  readonly target: number;
  readonly maxLatencyMs: number;
  readonly pipeline: SpaSpec[];
  readonly policy: RoutingPolicyName;
  readonly epoch: number;
}

export interface SubscriptionInfo {
  readonly subscriptionId: string;
  readonly channel: string;
  readonly subscriber: string;
  readonly maxLatencyMs: number;
  readonly pipeline: SpaSpec[];
  /** Latest report, if any. */
  readonly latencyMs?: number;
  readonly hops?: number;
  readonly boundMet?: boolean;
  /** `ended` when the channel went away; the subscription is then deleted. */
  readonly state: 'active' | 'ended';
  /** Why it ended (with `state: 'ended'`). */
  readonly endReason?: ChannelEndReason;
}

/**
 * Why a channel went away. `publisher-lost`: its publisher's connection dropped or failed, and
 * it may come back and publish the channel again (subscribers may wait for it);
 * `publisher-left`: it left or was removed; `unpublished`: it stopped publishing.
 */
export type ChannelEndReason = 'unpublished' | 'publisher-left' | 'publisher-lost';

export interface SpaFailure {
  readonly subscriptionId: string;
  readonly channel: string;
  /** The branch point that ran the pipeline. */
  readonly host: string;
  readonly pipeline: string[];
  readonly message: string;
}

export type Ack<T extends object = object> = ({ readonly ok: true } & T) | ErrorAck;

/** An ICE server as RTCIceServer takes it: STUN, or TURN with its credentials. */
export interface IceServer {
  readonly urls: string | readonly string[];
  readonly username?: string;
  readonly credential?: string;
}

/**
 * What a host makes its WebRTC connections with, as the server configures it. `relay`: only
 * TURN relay candidates (the deployment forces relayed connections).
 */
export interface IceConfiguration {
  readonly iceServers: readonly IceServer[];
  readonly iceTransportPolicy: 'all' | 'relay';
}

export interface JoinResult extends IceConfiguration {
  readonly state: CubeState;
  /** The overlay algorithm the room runs: every host of a room runs the same. */
  readonly algorithm: AlgorithmName;
  readonly channels: ChannelInfo[];
  /**
   * Proves to the server's HTTP routes (`POST /spa`: `Authorization: Bearer <token>`) that a
   * request comes from this joined host. Valid while the host is connected, and for resuming
   * within the grace period after its connection is lost.
   */
  readonly sessionToken: string;
  /**
   * Present when the join resumed a lost session: the host has its host id back, its channels
   * (in `channels`, same ids) and these subscriptions (same ids). What is not listed was lost.
   */
  readonly resumed?: { readonly subscriptions: SubscriptionInfo[] };
}

type AckFn<T extends object = object> = (ack: Ack<T>) => void;
type In<S extends z.ZodType> = z.input<S>;

/** Events a host sends; payload types are what a well-behaved client sends. */
export interface ClientToServerEvents {
  'host:join': (payload: In<typeof hostJoinSchema>, ack: AckFn<JoinResult>) => void;
  'host:leave': (payload: Record<string, never>, ack: AckFn) => void;
  'signal:send': (payload: In<typeof signalSendSchema>, ack: AckFn) => void;
  'channel:publish': (payload: In<typeof channelPublishSchema>, ack: AckFn<{ channel: ChannelInfo }>) => void;
  'channel:unpublish': (payload: In<typeof channelNameSchema>, ack: AckFn) => void;
  'channel:list': (payload: Record<string, never>, ack: AckFn<{ channels: ChannelInfo[] }>) => void;
  'subscription:create': (payload: In<typeof subscriptionCreateSchema>, ack: AckFn<{ subscription: SubscriptionInfo }>) => void;
  'subscription:delete': (payload: In<typeof subscriptionRefSchema>, ack: AckFn) => void;
  'subscription:report': (payload: In<typeof subscriptionReportSchema>, ack: AckFn<{ boundMet: boolean }>) => void;
  'link:report': (payload: In<typeof linkReportSchema>, ack: AckFn) => void;
  'spa:report': (payload: In<typeof spaReportSchema>, ack: AckFn) => void;
}

/** A signal as the server relays it: who sent it, in which epoch, for which stripe (absent: 0). */
export interface RelayedSignal {
  readonly from: string;
  readonly epoch: number;
  readonly data: SignalData;
  readonly stripe?: number;
}

export interface ServerToClientEvents {
  'cube:state': (state: CubeState) => void;
  'cube:delta': (delta: CubeDelta) => void;
  'signal:receive': (message: RelayedSignal) => void;
  'channel:added': (channel: ChannelInfo) => void;
  'channel:updated': (channel: ChannelInfo) => void;
  'channel:removed': (channel: { name: string; reason?: ChannelEndReason }) => void;
  'route:request': (request: RouteRequest) => void;
  'route:cancel': (request: { subscriptionId: string; channel: string }) => void;
  'subscription:updated': (subscription: SubscriptionInfo) => void;
  /** The pipeline of this host's subscription died at its branch point: nothing more comes. */
  'spa:failed': (failure: SpaFailure) => void;
  'emulation:set': (emulation: Emulation) => void;
  'policy:changed': (change: { policy: RoutingPolicyName }) => void;
  /** An observer's control message for the room's algorithm (`control:algorithm`). */
  'algorithm:control': (control: { a: number; b: number }) => void;
  /** New TURN credentials, before the ones this host holds expire: for connections made from now on. */
  'ice:updated': (configuration: IceConfiguration) => void;
}

// ---- Observer ---------------------------------------------------------------------------

export const OBSERVER_EVENT_TYPES = [
  'join',
  'leave',
  'failure',
  'swap',
  'reembed',
  'publish',
  'unpublish',
  'subscribe',
  'unsubscribe',
  'bound-missed',
  'policy',
  'algorithm',
  'emulation',
  'rejected',
  'spa',
] as const;

export interface ObserverEvent {
  readonly time: number;
  readonly type: (typeof OBSERVER_EVENT_TYPES)[number];
  readonly message: string;
  readonly hostId?: string;
  readonly details?: Record<string, unknown>;
}

export interface ObserverHost {
  readonly hostId: string;
  readonly name?: string;
  readonly ids: number[];
  readonly emulation?: Emulation;
  readonly connectedAt: number;
  readonly rejected: number;
  /** The pipelines the host runs, as it last reported them. */
  readonly spas: HostSpa[];
}

export interface ObserverLink {
  readonly a: string;
  readonly b: string;
  /** Per direction, as each end reported it. */
  readonly reports: { from: string; state: string; rttMs?: number; throughputKbps?: number; lossRate?: number; channels?: string[]; at: number }[];
}

export interface ObserverSnapshot {
  readonly time: number;
  readonly cube: { k: number; n: number; M: number; epoch: number; revision: number };
  /** The overlay algorithm the room runs (the deployment's choice: it does not change). */
  readonly algorithm: AlgorithmName;
  /** How the room swaps subscribers nearer their publishers: the planner, and how many logical hops from the publisher it looks (the deployment's choice). */
  readonly swaps: { readonly strategy: SwapStrategy; readonly depth: number };
  readonly policy: RoutingPolicyName;
  readonly hosts: ObserverHost[];
  readonly links: ObserverLink[];
  readonly channels: ChannelInfo[];
  readonly subscriptions: SubscriptionInfo[];
  readonly server: { heapUsedBytes: number; rejectedPayloads: number; uptimeSeconds: number };
  readonly controls: { enabled: boolean; reason?: string };
}

export interface ObserverClientEvents {
  'control:kill': (payload: In<typeof controlKillSchema>, ack: AckFn) => void;
  'control:emulation': (payload: In<typeof controlEmulationSchema>, ack: AckFn) => void;
  'control:policy': (payload: In<typeof controlPolicySchema>, ack: AckFn) => void;
  /** Answers with how many hosts it went to. */
  'control:algorithm': (payload: In<typeof controlAlgorithmSchema>, ack: AckFn<{ hosts: number }>) => void;
  'control:reembed': (payload: In<typeof controlReembedSchema>, ack: AckFn<{ k: number; n: number; epoch: number }>) => void;
  'control:swap-check': (payload: In<typeof controlSwapCheckSchema>, ack: AckFn<SwapCheckResult>) => void;
}

/** What a swap check did: per subscription of the host, the swap made, or why none. */
export interface SwapCheckResult {
  readonly checked: {
    readonly subscriptionId: string;
    readonly channel: string;
    /** The host whose ids the subscriber took, with the latency the server estimated before and after; absent: no swap brings it nearer. */
    readonly swap?: { readonly displaced: string; readonly latencyBeforeMs: number; readonly latencyAfterMs: number };
  }[];
}

/**
 * Changes to one kind of entity: `set` adds entities (whole), `patch` changes entities the
 * observer has (only the top-level fields that changed: a latency report does not resend a
 * subscription's pipeline; `null` removes a field), `removed` drops them. Keys: host id, `a|b` for a link (its two host
 * ids, smaller first), channel name, subscription id.
 */
export interface EntityChanges<T> {
  readonly set?: T[];
  readonly patch?: [key: string, fields: Partial<T>][];
  readonly removed?: string[];
}

/** What changed since the previous snapshot or delta. */
export interface ObserverDelta {
  readonly time: number;
  readonly cube?: ObserverSnapshot['cube'];
  readonly policy?: RoutingPolicyName;
  readonly server: ObserverSnapshot['server'];
  readonly hosts?: EntityChanges<ObserverHost>;
  readonly links?: EntityChanges<ObserverLink>;
  readonly channels?: EntityChanges<ChannelInfo>;
  readonly subscriptions?: EntityChanges<SubscriptionInfo>;
}

export interface ObserverServerEvents {
  /** Sent once, when the observer connects: the whole overlay, then deltas. */
  'observer:snapshot': (snapshot: ObserverSnapshot) => void;
  /** Built and serialized once per change for every observer. */
  'observer:delta': (delta: ObserverDelta) => void;
  'observer:event': (event: ObserverEvent) => void;
}
