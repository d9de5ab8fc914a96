import type { Cube, NetworkCoordinates, Ownership } from '@cubecast/overlay';
import type {
  ChannelInfo,
  Emulation,
  HostSpa,
  LinkReport,
  ObserverEvent,
  RoutingPolicyName,
  SpaSpec,
} from '@cubecast/protocol';

/** Bytes of JSON a host makes the server hold, by what holds them (LIMITS.maxHostStateBytes). */
export interface HostBytes {
  channels: number;
  subscriptions: number;
  links: number;
  spas: number;
}

export interface HostRecord {
  readonly hostId: string;
  /** Proves HTTP requests (SPA uploads) come from this host; see JoinResult. */
  readonly sessionToken: string;
  readonly name?: string;
  emulation?: Emulation;
  connectedAt: number;
  /** The server process whose socket the host is on (a gateway; the owner itself in one process). */
  node: string;
  /**
   * Its socket's id: a disconnect of an older socket (the host came back on a new one before
   * the old one was noticed gone) is not the host leaving.
   */
  connection: string;
  /**
   * Since when its node has been gone (died, drained, restarted): the host keeps its ids
   * until it comes back with its session token or the claim window ends.
   */
  unclaimedSince?: number;
  /** Payloads refused from this host. */
  rejected: number;
  /** What the host was last told: deltas are computed against it. */
  sent: { ids: Set<number>; neighbours: Map<number, string> };
  /** The pipelines it last reported running. */
  spas: HostSpa[];
  bytes: HostBytes;
}

/** What a host that lost its connection had, kept for it to resume within the grace period. */
export interface SuspendedSession {
  readonly hostId: string;
  readonly channels: readonly ChannelInfo[];
  readonly subscriptions: readonly SubscriptionRecord[];
  /** When the grace period ends (the controller's clock). */
  readonly until: number;
}

export interface SubscriptionRecord {
  readonly subscriptionId: string;
  readonly channel: string;
  readonly subscriber: string;
  readonly maxLatencyMs: number;
  readonly pipeline: SpaSpec[];
  /** The subscriber's id the route ends at, as last sent to the publisher. */
  target: number;
  latencyMs?: number;
  hops?: number;
  framesDecoded?: number;
  /** Consecutive reports over the bound. */
  misses: number;
  lastSwapAttempt: number;
}

/** One host's latest report about one of its links. */
export interface LinkMeasurement {
  state: LinkReport['links'][number]['state'];
  rttMs?: number;
  throughputKbps?: number;
  lossRate?: number;
  /** Channels the reporting host forwards over the link. */
  channels?: string[];
  at: number;
}

export interface CubeRecord {
  cube: Cube;
  ownership: Ownership;
  epoch: number;
  revision: number;
  /** Forced by an operator: kept until full (see reembedTarget). */
  pinned: boolean;
}

/**
 * Everything the server knows. The in-memory store is the default (one process, nothing to
 * set up); a shared store for several server processes implements the same shape, keeping
 * this process's copy as a write-through cache.
 */
export interface Store {
  readonly hosts: Map<string, HostRecord>;
  /**
   * Hosts whose saved record is out of date (changed, added or gone) since the room was last
   * saved: a room in Redis writes only these records, not every host's (room-state.ts).
   */
  readonly changedHosts: Set<string>;
  /** Session token -> host id, for the hosts connected now. */
  readonly sessions: Map<string, string>;
  /** Session token -> what a host that lost its connection had, until its grace period ends. */
  readonly suspended: Map<string, SuspendedSession>;
  readonly channels: Map<string, ChannelInfo>;
  readonly subscriptions: Map<string, SubscriptionRecord>;
  /**
   * Reporter -> peer -> what the reporter last said of that link. A report lists all of a
   * host's links and replaces its map, so links it no longer has drop out by themselves.
   */
  readonly links: Map<string, Map<string, LinkMeasurement>>;
  readonly coordinates: NetworkCoordinates;
  /** The newest observer events, oldest first, bounded. */
  readonly events: ObserverEvent[];
  cube: CubeRecord | undefined;
  policy: RoutingPolicyName;
  /** The last host, subscription and channel numbers handed out: ids are never reused in a room. */
  nextIds: { host: number; subscription: number; channel: number };
  counters: { rejectedPayloads: number; deltasSent: number; statesSent: number; joins: number };
}

export function measurement(store: Store, from: string, to: string): LinkMeasurement | undefined {
  return store.links.get(from)?.get(to);
}

/** A set that keeps nothing: what a store not saved anywhere tracks as changed hosts. */
class Untracked<T> extends Set<T> {
  override add(): this {
    return this;
  }
}

/** An empty room; `saved`: it will be saved, so which hosts changed is tracked. */
export function createMemoryStore(coordinates: NetworkCoordinates, options: { saved?: boolean } = {}): Store {
  return {
    hosts: new Map(),
    changedHosts: options.saved ? new Set() : new Untracked(),
    sessions: new Map(),
    suspended: new Map(),
    channels: new Map(),
    subscriptions: new Map(),
    links: new Map(),
    coordinates,
    events: [],
    cube: undefined,
    policy: 'greedy',
    nextIds: { host: 0, subscription: 0, channel: 0 },
    counters: { rejectedPayloads: 0, deltasSent: 0, statesSent: 0, joins: 0 },
  };
}
