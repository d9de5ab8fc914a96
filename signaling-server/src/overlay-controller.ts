import { randomBytes } from 'node:crypto';
import {
  channelAnchor,
  Cube,
  DEFAULT_SWAP_BUDGET,
  mRegion,
  Ownership,
  reembedTarget,
  routeTarget,
  type Move,
} from '@cubecast/overlay';
import {
  ChannelExistsError,
  CubeFullError,
  InvalidRequestError,
  jsonBytes,
  LIMITS,
  LimitExceededError,
  NotLinkedError,
  NotPublisherError,
  StaleEpochError,
  UnknownChannelError,
  UnknownHostError,
  UnknownSubscriptionError,
  type AlgorithmName,
  type ChannelEndReason,
  type ClientPayload,
  type ChannelInfo,
  type ChannelPublish,
  type CubeState,
  type Emulation,
  type IceConfiguration,
  type JoinResult,
  type LinkReport,
  type ObserverEvent,
  type SpaReport,
  type ObserverSnapshot,
  type RouteRequest,
  type RoutingPolicyName,
  type ServerToClientEvents,
  type SubscriptionCreate,
  type SwapCheckResult,
  type SubscriptionInfo,
  type RelayedSignal,
  SWAP_STRATEGIES,
  type SwapStrategy,
} from '@cubecast/protocol';
import { Measurements } from './measurements.js';
import { roomSnapshot, subscriptionInfo } from './observer-snapshot.js';
import { Qos } from './qos.js';
import type { RoomContext } from './room-context.js';
import type { HostBytes, HostRecord, Store, SubscriptionRecord, SuspendedSession } from './store.js';

/** Where the controller's messages go; the socket layer implements it, tests record it. */
export interface Outbox {
  host<E extends keyof ServerToClientEvents>(hostId: string, event: E, ...args: Parameters<ServerToClientEvents[E]>): void;
  allHosts<E extends keyof ServerToClientEvents>(event: E, ...args: Parameters<ServerToClientEvents[E]>): void;
  observerEvent(event: ObserverEvent): void;
  /** Something observers see changed: a fresh snapshot is due. */
  changed(): void;
  /** Drop a host's connection (an observer's kill). */
  disconnect(hostId: string): void;
  /** Drop a socket that is no longer its host's (the host came back on another). */
  dropConnection(node: string, connection: string): void;
}

/** A join as the room answers it; the gateway adds the ICE servers (they are not the room's). */
export type RoomJoinResult = Omit<JoinResult, keyof IceConfiguration>;

/** Where a host's socket is: the server process and the socket's id. */
export interface HostConnection {
  readonly node: string;
  readonly connection: string;
}

/** A host that went; with `connection`, only if that socket is still the host's. */
export interface HostLeave {
  readonly hostId: string;
  readonly reason: LeaveReason;
  readonly connection?: string;
}

export function isSwapStrategy(value: string): value is SwapStrategy {
  return (SWAP_STRATEGIES as readonly string[]).includes(value);
}

export interface ControllerConfig {
  /** The overlay algorithm the room's hosts run (told at join; shown to observers). */
  readonly algorithm: AlgorithmName;
  /**
   * How far from the publisher a swap may look (D). Default 2: in the simulator D = 2 cut
   * lateness more than D = 1 at seven of eight group sizes (docs/experiments.md).
   */
  readonly swapDepth: number;
  /** `depth`: the slides' Subscribe(S,P,d); `fig5`: the paper's; `best`: exhaustive within D. */
  readonly swapStrategy: SwapStrategy;
  /** Positions the exhaustive (`best`) planner evaluates at most per decision. */
  readonly swapBudget: number;
  /** Consecutive reports over the bound before a swap is tried. Default 2. */
  readonly swapAfterMisses: number;
  /** Least time between two swap attempts for one subscription. */
  readonly swapCooldownMs: number;
  readonly hysteresis: number;
  readonly now: () => number;
  readonly maxEvents: number;
  /**
   * Ids the cube may have: joins past it are refused (CUBE_FULL). Ownership holds state per
   * id: issue 11 found a forced 2^24-id cube took the server 32 s and 2 GB.
   */
  readonly maxCubeIds: number;
  /**
   * A cube an observer forces may have at most max(this, 4 x hosts) ids: room to try the
   * papers' shapes (the 16-ary 4-cube, the 2-ary 16-cube) without a 2^24-id stall.
   */
  readonly maxForcedCubeIds: number;
  /**
   * How long a host whose connection dropped may resume its session (host id, channels and
   * subscriptions with their ids) by joining with its session token.
   */
  readonly resumeGraceMs: number;
  /**
   * How long hosts whose node went away (died, drained, restarted) keep their cube ids for
   * their tabs to reconnect elsewhere and take them back.
   */
  readonly claimWindowMs: number;
}

export const DEFAULT_CONTROLLER_CONFIG: ControllerConfig = {
  algorithm: 'cube',
  swapDepth: 2,
  swapStrategy: 'depth',
  swapBudget: DEFAULT_SWAP_BUDGET,
  swapAfterMisses: 2,
  swapCooldownMs: 5000,
  hysteresis: 0.25,
  now: () => Date.now(),
  maxEvents: 500,
  maxCubeIds: 2 ** 24,
  maxForcedCubeIds: 2 ** 16,
  resumeGraceMs: 30_000,
  claimWindowMs: 15_000,
};

export type LeaveReason = 'leave' | 'disconnect' | 'failure' | 'killed';

/** A host whose connection dropped or failed may come back (it did not leave, nor was it removed). */
const connectionLost = (reason: LeaveReason) => reason === 'disconnect' || reason === 'failure';
/** Observers see these as failures, not leaves. */
const failed = (reason: LeaveReason) => reason === 'failure' || reason === 'killed';

/** What a channel or a subscription costs its host (LIMITS.maxHostStateBytes). */
const channelBytes = (channel: ChannelInfo) => jsonBytes(channel.name) + jsonBytes(channel.codec);
const subscriptionBytes = (sub: SubscriptionRecord) => jsonBytes(sub.channel) + jsonBytes(sub.pipeline);

const hostsText = (m: number) => `${m} host${m === 1 ? '' : 's'}`;

/** Suspended sessions a room keeps at most (the oldest go first): hosts that churn cannot grow it. */
const MAX_SUSPENDED_SESSIONS = 10_000;

/** Signals kept for one reconnecting host at most (the oldest go first). */
const MAX_HELD_SIGNALS = 64;

/** Leaves in one batch past which observers get one summary event instead of one per host. */
const MAX_LEAVE_EVENTS = 20;

/**
 * The authority on the overlay: hosts, their cube ids, channels, subscriptions, swaps and
 * re-embeddings. It owns no sockets; everything it says goes through the Outbox. Every
 * mutation that moves ids tells exactly the hosts whose ids or neighbour tables changed.
 */
export class OverlayController {
  /**
   * Hosts whose join is not answered yet, with work that must follow the answer (see
   * `answered`). Their sockets are told nothing before it: a delta ahead of the state it
   * applies to would be dropped, and a route request taken for one of an epoch left behind.
   */
  private readonly awaitingAnswer = new Map<string, (() => void)[]>();
  /** Signals to hosts whose node went away, kept for when they claim themselves back. */
  private readonly heldSignals = new Map<string, RelayedSignal[]>();

  /** How many of the room's hosts each server node holds the sockets of. */
  private readonly hostsPerNode = new Map<string, number>();
  /** Hosts whose delta leaveMany deferred, and the ids that moved meanwhile (see sendDueDeltas). */
  private readonly deltasDue = new Set<string>();
  private readonly movedIds = new Set<number>();
  private readonly measurements: Measurements;
  private readonly qos: Qos;

  constructor(
    readonly store: Store,
    private readonly outbox: Outbox,
    private readonly config: ControllerConfig = DEFAULT_CONTROLLER_CONFIG,
  ) {
    const room: RoomContext = {
      store,
      outbox,
      config,
      host: (hostId) => this.host(hostId),
      subscription: (hostId, subscriptionId) => this.subscription(hostId, subscriptionId),
      charge: (host, part, bytes) => this.charge(host, part, bytes),
      requireCube: () => this.requireCube(),
      applyMoves: (moves) => this.applyMoves(moves),
      logEvent: (type, message, hostId, details) => this.logEvent(type, message, hostId, details),
    };
    for (const host of store.hosts.values()) this.countNode(host.node, 1);
    this.measurements = new Measurements(room);
    this.qos = new Qos(room);
  }

  // ---- hosts ---------------------------------------------------------------------------

  /**
   * A host joins from a socket (`connection`) on a server process (`node`). With the session
   * token of a host the room still holds (its socket dropped and it came back before the drop
   * was noticed, or its node went away) it takes that host back as it stands: same id, same
   * cube ids. With the token of a suspended session it gets its host id, channels and
   * subscriptions back in the cube as it is now.
   */
  join(input: Omit<ClientPayload<'host:join'>, 'protocol' | 'room'>, from: HostConnection): { hostId: string } & RoomJoinResult {
    const held = input.resume === undefined ? undefined : this.store.sessions.get(input.resume);
    if (held !== undefined) return this.claim(this.store.hosts.get(held)!, from);
    const session = this.takeSuspended(input.resume);
    const hostId = session?.hostId ?? `h${++this.store.nextIds.host}`;
    const m = this.store.hosts.size + 1;
    const record: HostRecord = {
      hostId,
      sessionToken: randomBytes(24).toString('base64url'),
      ...(input.name !== undefined && { name: input.name }),
      ...(input.emulation !== undefined && { emulation: input.emulation }),
      connectedAt: this.config.now(),
      node: from.node,
      connection: from.connection,
      rejected: 0,
      sent: { ids: new Set(), neighbours: new Map() },
      spas: [],
      bytes: { channels: 0, subscriptions: 0, links: 0, spas: 0 },
    };
    let current = this.store.cube;
    if (!current) {
      const region = mRegion(1);
      const cube = new Cube(region.k, region.n);
      current = this.store.cube = { cube, ownership: Ownership.create(cube, []), epoch: 1, revision: 0, pinned: false };
    }
    const target = reembedTarget(current.cube, m, { hysteresis: this.config.hysteresis, pinned: current.pinned });
    if (target && target.M > this.config.maxCubeIds) throw new CubeFullError(`the overlay is full at ${m - 1} hosts`);
    this.store.hosts.set(hostId, record);
    this.countNode(record.node, 1);
    this.store.changedHosts.add(hostId);
    this.store.sessions.set(record.sessionToken, hostId);
    this.store.counters.joins++;
    if (target) {
      this.reembedInto(new Cube(target.k, target.n), false, hostsText(m), hostId);
    } else {
      const moves = current.ownership.join(hostId);
      this.applyMoves(moves, hostId);
    }
    const resumed = session && this.resumeSession(record, session);
    this.awaitingAnswer.set(hostId, []);
    const state = this.stateFor(record);
    this.logEvent('join', `${hostId} ${session ? 'resumed its session' : 'joined'} (${hostsText(m)})`, hostId, { ids: state.ids.length });
    return { hostId, state, algorithm: this.config.algorithm, channels: [...this.store.channels.values()], sessionToken: record.sessionToken, ...(resumed && { resumed }) };
  }

  /**
   * A held host on a new socket: the old socket, if it is still open somewhere, is dropped
   * (its disconnect then names a connection that is no longer the host's). The host gets its
   * whole state again and its routes are asked for again: its engine may have lost them.
   */
  private claim(host: HostRecord, from: HostConnection): { hostId: string } & RoomJoinResult {
    if (host.connection !== from.connection) this.outbox.dropConnection(host.node, host.connection);
    this.countNode(host.node, -1);
    this.countNode(from.node, 1);
    host.node = from.node;
    host.connection = from.connection;
    host.connectedAt = this.config.now();
    this.store.changedHosts.add(host.hostId);
    delete host.unclaimedSince;
    const subscriptions = [...this.store.subscriptions.values()].filter((sub) => sub.subscriber === host.hostId);
    this.awaitingAnswer.set(host.hostId, [() => {
      const held = this.heldSignals.get(host.hostId) ?? [];
      this.heldSignals.delete(host.hostId);
      const epoch = this.store.cube?.epoch;
      for (const signal of held) if (signal.epoch === epoch) this.outbox.host(host.hostId, 'signal:receive', signal);
      for (const sub of this.store.subscriptions.values()) {
        if (sub.subscriber === host.hostId || this.store.channels.get(sub.channel)?.publisher === host.hostId) this.requestRoute(sub);
      }
    }]);
    const state = this.stateFor(host);
    this.logEvent('join', `${host.hostId} came back on a new connection (${hostsText(this.store.hosts.size)})`, host.hostId, { ids: state.ids.length });
    return {
      hostId: host.hostId,
      state,
      algorithm: this.config.algorithm,
      channels: [...this.store.channels.values()],
      sessionToken: host.sessionToken,
      resumed: { subscriptions: subscriptions.map((sub) => subscriptionInfo(sub)) },
    };
  }

  /** Whether this host's join has not been answered yet (what it is sent waits for the answer). */
  awaitsAnswer(hostId: string): boolean {
    return this.awaitingAnswer.has(hostId);
  }

  hostsAwaitingAnswer(): Iterable<string> {
    return this.awaitingAnswer.keys();
  }

  /** This host's join was answered: what had to wait for the answer is done now. */
  answered(hostId: string): void {
    const work = this.awaitingAnswer.get(hostId);
    this.awaitingAnswer.delete(hostId);
    for (const run of work ?? []) run();
  }

  /** The suspended session of this token, if its grace period has not ended; taken, so once. */
  private takeSuspended(token: string | undefined): SuspendedSession | undefined {
    const now = this.config.now();
    // Sessions are kept in the order they end: the expired ones are at the front.
    for (const [key, session] of this.store.suspended) {
      if (session.until > now) break;
      this.store.suspended.delete(key);
    }
    const session = token === undefined ? undefined : this.store.suspended.get(token);
    if (token !== undefined) this.store.suspended.delete(token);
    return session;
  }

  /**
   * Gives a resuming host back its channels (same ids; a name taken meanwhile stays with its
   * new publisher) and its subscriptions to channels that still exist (same ids, routes asked
   * for again). Returns the subscriptions given back.
   */
  private resumeSession(host: HostRecord, session: SuspendedSession): { subscriptions: SubscriptionInfo[] } {
    const { cube, ownership } = this.requireCube();
    for (const old of session.channels) {
      if (!this.store.channels.has(old.name)) this.addChannel(host, { ...old, anchor: channelAnchor(ownership.idsOf(host.hostId)) });
    }
    const subscriptions: SubscriptionInfo[] = [];
    for (const { subscriptionId, channel: name, maxLatencyMs, pipeline } of session.subscriptions) {
      const channel = this.store.channels.get(name);
      if (!channel || channel.publisher === host.hostId) continue;
      const sub = this.addSubscription(host, { subscriptionId, channel: name, subscriber: host.hostId, maxLatencyMs, pipeline, target: routeTarget(cube, channel.anchor, ownership.idsOf(host.hostId)), misses: 0, lastSwapAttempt: -Infinity });
      subscriptions.push(subscriptionInfo(sub));
    }
    return { subscriptions };
  }

  leave(hostId: string, reason: LeaveReason, connection?: string): void {
    this.leaveMany([{ hostId, reason, ...(connection !== undefined && { connection }) }]);
  }

  /** The server processes this room's hosts are on. */
  hostNodes(): ReadonlySet<string> {
    return new Set(this.hostsPerNode.keys());
  }

  /** Keeps hostsPerNode: a broadcast asks for the nodes at every change, not for every host. */
  private countNode(node: string, change: number): void {
    const count = (this.hostsPerNode.get(node) ?? 0) + change;
    if (count > 0) this.hostsPerNode.set(node, count);
    else this.hostsPerNode.delete(node);
  }

  /**
   * These nodes are gone (died, drained): their hosts keep their ids for the claim window,
   * in which their tabs reconnect to another node and take them back with their tokens.
   */
  nodesGone(nodes: ReadonlySet<string>): void {
    // Asked every second by the cluster's sweep, nearly always with no node gone.
    if (nodes.size === 0) return;
    const now = this.config.now();
    for (const host of this.store.hosts.values()) {
      if (!nodes.has(host.node) || host.unclaimedSince !== undefined) continue;
      host.unclaimedSince = now;
      this.store.changedHosts.add(host.hostId);
    }
  }

  /** Hosts whose node went away and who did not come back within the claim window leave, as failures. */
  expireUnclaimed(): void {
    const deadline = this.config.now() - this.config.claimWindowMs;
    const expired = [...this.store.hosts.values()].filter((host) => host.unclaimedSince !== undefined && host.unclaimedSince <= deadline);
    // Nearly always none, once a second: no batch then.
    if (expired.length === 0) return;
    this.leaveMany(expired.map(({ hostId }) => ({ hostId, reason: 'failure' })), { deferShrink: true });
  }

  /**
   * After the room was taken over from another owner, or loaded after a restart: what was
   * saved may lag what hosts were last told, so every host still here gets its whole state.
   */
  resync(): void {
    const current = this.store.cube;
    if (!current) return;
    current.revision++;
    for (const host of this.store.hosts.values()) {
      if (host.unclaimedSince !== undefined) continue;
      this.store.counters.statesSent++;
      this.outbox.host(host.hostId, 'cube:state', this.stateFor(host));
    }
  }

  /**
   * Hosts that left together (a mass disconnect, a node dying) as one change: their ids move
   * in one ownership pass, and each affected host gets one delta (or, if the cube shrinks,
   * one state), not one per leave. Unknown hosts are skipped. With `deferShrink` the cube
   * keeps its shape even where fewer hosts would fit a smaller one (`shrinkIfDue` does that
   * later): a burst of leaves arriving in many batches then re-embeds once, not at every
   * region boundary it passes, each time sending every remaining host a full state. With
   * `deferDeltas` the affected hosts' deltas wait for `sendDueDeltas` (or any later change
   * that reaches them): in a burst, most of them would go to hosts about to leave too, and a
   * host affected by several batches gets one delta for all of them.
   */
  leaveMany(leaves: readonly HostLeave[], options: { deferShrink?: boolean; deferDeltas?: boolean } = {}): void {
    const current = this.store.cube;
    const stillHeld = ({ hostId, connection }: HostLeave) => {
      const host = this.store.hosts.get(hostId);
      return host !== undefined && (connection === undefined || host.connection === connection);
    };
    const leaving = new Map(leaves.filter(stillHeld).map(({ hostId, reason }) => [hostId, reason]));
    if (!current || leaving.size === 0) return;
    // What hosts that lost their connection had, kept for them to resume: one pass over
    // channels and subscriptions for the whole batch.
    const kept = new Map<string, { channels: ChannelInfo[]; subscriptions: SubscriptionRecord[] }>();
    for (const [hostId, reason] of leaving) if (connectionLost(reason)) kept.set(hostId, { channels: [], subscriptions: [] });
    for (const channel of [...this.store.channels.values()]) {
      const reason = leaving.get(channel.publisher);
      if (reason === undefined) continue;
      kept.get(channel.publisher)?.channels.push(channel);
      const lost = connectionLost(reason);
      this.removeChannel(channel, lost ? 'publisher-lost' : 'publisher-left', `its publisher ${channel.publisher} ${lost ? 'lost its connection' : 'left'}`);
    }
    for (const sub of [...this.store.subscriptions.values()]) {
      if (!leaving.has(sub.subscriber)) continue;
      kept.get(sub.subscriber)?.subscriptions.push(sub);
      this.removeSubscription(sub);
    }
    this.suspend(kept);
    for (const hostId of leaving.keys()) {
      this.heldSignals.delete(hostId);
      this.awaitingAnswer.delete(hostId);
      this.store.changedHosts.add(hostId);
      this.store.sessions.delete(this.store.hosts.get(hostId)!.sessionToken);
      this.countNode(this.store.hosts.get(hostId)!.node, -1);
      this.store.hosts.delete(hostId);
      this.store.coordinates.forget(hostId);
      // Its own reports go now; others' reports about it go with their next report.
      this.store.links.delete(hostId);
    }
    const moves = current.ownership.leaveMany([...leaving.keys()]);
    const m = this.store.hosts.size;
    if (m === 0) {
      this.store.cube = undefined;
      this.movedIds.clear();
      this.deltasDue.clear();
    } else if (options.deferShrink || !this.shrinkIfDue()) {
      this.applyMoves(moves, undefined, options.deferDeltas);
    }
    if (!options.deferDeltas) this.sendDueDeltas();
    // Observers get every leave of a small batch; a mass leave is one event, not thousands.
    if (leaving.size > MAX_LEAVE_EVENTS) {
      const failures = [...leaving.values()].filter(failed).length;
      this.logEvent(failures > 0 ? 'failure' : 'leave', `${hostsText(leaving.size)} left at once, ${failures} of them failed (${hostsText(m)})`, undefined, { hosts: leaving.size, failed: failures });
      return;
    }
    for (const [hostId, reason] of leaving) {
      this.logEvent(failed(reason) ? 'failure' : 'leave', `${hostId} ${reason === 'killed' ? 'was killed' : failed(reason) ? 'failed' : 'left'} (${hostsText(m)})`, hostId);
    }
  }

  /** Keeps what hosts that lost their connection had, for them to resume within the grace period. */
  private suspend(kept: ReadonlyMap<string, { channels: ChannelInfo[]; subscriptions: SubscriptionRecord[] }>): void {
    const until = this.config.now() + this.config.resumeGraceMs;
    for (const [hostId, { channels, subscriptions }] of kept) {
      this.store.suspended.set(this.store.hosts.get(hostId)!.sessionToken, { hostId, channels, subscriptions, until });
    }
    // The oldest go, in one pass: finding the first key again after each delete walks every
    // deleted entry before it (75 ms when 15000 hosts lost their connections at once).
    let excess = this.store.suspended.size - MAX_SUSPENDED_SESSIONS;
    for (const token of this.store.suspended.keys()) {
      if (excess-- <= 0) break;
      this.store.suspended.delete(token);
    }
  }

  /** Re-embeds into a smaller cube if the hosts left are few enough for one; says whether it did. */
  shrinkIfDue(): boolean {
    const current = this.store.cube;
    const m = this.store.hosts.size;
    if (!current || m === 0) return false;
    const target = reembedTarget(current.cube, m, { hysteresis: this.config.hysteresis, pinned: current.pinned });
    if (!target) return false;
    this.reembedInto(new Cube(target.k, target.n), false, hostsText(m));
    return true;
  }

  hasHost(hostId: string): boolean {
    return this.store.hosts.has(hostId);
  }

  /** The connected host a session token belongs to. */
  hostOfSession(token: string): string | undefined {
    return this.store.sessions.get(token);
  }

  /** True while a live subscription's pipeline names this SPA (`custom:<hash>`). */
  spaInUse(spa: string): boolean {
    for (const sub of this.store.subscriptions.values()) if (sub.pipeline.some((stage) => stage.spa === spa)) return true;
    return false;
  }

  /**
   * Sets what one part of a host's state costs in bytes; refuses (and changes nothing) when
   * the host's total would pass LIMITS.maxHostStateBytes.
   */
  private charge(host: HostRecord, part: keyof HostBytes, bytes: number): void {
    const { channels, subscriptions, links, spas } = host.bytes;
    const total = channels + subscriptions + links + spas - host.bytes[part] + bytes;
    if (bytes > host.bytes[part] && total > LIMITS.maxHostStateBytes) {
      throw new LimitExceededError(`${host.hostId} would hold ${total} bytes in the server, more than ${LIMITS.maxHostStateBytes}`);
    }
    host.bytes[part] = bytes;
    this.store.changedHosts.add(host.hostId);
  }

  countRejected(hostId: string | undefined, count = 1): void {
    this.store.counters.rejectedPayloads += count;
    const host = hostId ? this.store.hosts.get(hostId) : undefined;
    if (!host) return;
    host.rejected += count;
    this.store.changedHosts.add(host.hostId);
  }

  // ---- signal relay ----------------------------------------------------------------------

  relaySignal(from: string, message: ClientPayload<'signal:send'>): void {
    const current = this.requireCube();
    if (message.epoch !== current.epoch) {
      throw new StaleEpochError(`epoch ${message.epoch} is over; the current epoch is ${current.epoch}`);
    }
    const target = this.host(message.to);
    if (!current.ownership.linkedHosts(from).has(message.to)) {
      throw new NotLinkedError(`${from} and ${message.to} are not linked in epoch ${current.epoch}`);
    }
    const signal: RelayedSignal = { from, epoch: current.epoch, data: message.data, ...(message.stripe !== undefined && { stripe: message.stripe }) };
    if (target.unclaimedSince === undefined) {
      this.outbox.host(message.to, 'signal:receive', signal);
      return;
    }
    // Its tab is reconnecting: an offer dropped now would leave the link to wait out its
    // connect timeout. It gets what was sent meanwhile when it claims itself back.
    let held = this.heldSignals.get(message.to);
    if (!held) this.heldSignals.set(message.to, (held = []));
    if (held.push(signal) > MAX_HELD_SIGNALS) held.shift();
  }

  // ---- channels ----------------------------------------------------------------------------

  publish(hostId: string, request: ChannelPublish): ChannelInfo {
    const owned = [...this.store.channels.values()].filter((c) => c.publisher === hostId).length;
    if (owned >= LIMITS.maxChannelsPerHost) {
      throw new LimitExceededError(`a host may publish ${LIMITS.maxChannelsPerHost} channels at most`);
    }
    if (this.store.channels.has(request.name)) throw new ChannelExistsError(`a channel named "${request.name}" exists`);
    const host = this.host(hostId);
    const channel: ChannelInfo = {
      id: ++this.store.nextIds.channel,
      name: request.name,
      kind: request.kind,
      publisher: hostId,
      anchor: channelAnchor(this.requireCube().ownership.idsOf(hostId)),
      codec: request.codec,
    };
    this.addChannel(host, channel);
    this.logEvent('publish', `${hostId} publishes "${channel.name}" (${channel.kind})`, hostId);
    return channel;
  }

  /** Holds a channel for its publisher (within its byte limit) and tells every host. */
  private addChannel(host: HostRecord, channel: ChannelInfo): void {
    this.charge(host, 'channels', host.bytes.channels + channelBytes(channel));
    this.store.channels.set(channel.name, channel);
    this.outbox.allHosts('channel:added', channel);
  }

  unpublish(hostId: string, name: string): void {
    const channel = this.channel(name);
    if (channel.publisher !== hostId) throw new NotPublisherError(`"${name}" is published by ${channel.publisher}`);
    this.removeChannel(channel, 'unpublished', 'its publisher stopped it');
  }

  channels(): ChannelInfo[] {
    return [...this.store.channels.values()];
  }

  private channel(name: string): ChannelInfo {
    const channel = this.store.channels.get(name);
    if (!channel) throw new UnknownChannelError(`no channel named "${name}"`);
    return channel;
  }

  private removeChannel(channel: ChannelInfo, reason: ChannelEndReason, why: string): void {
    for (const sub of [...this.store.subscriptions.values()]) {
      if (sub.channel !== channel.name) continue;
      this.store.subscriptions.delete(sub.subscriptionId);
      this.releaseSubscription(sub);
      this.outbox.host(sub.subscriber, 'subscription:updated', { ...subscriptionInfo(sub), state: 'ended', endReason: reason });
    }
    this.store.channels.delete(channel.name);
    const publisher = this.store.hosts.get(channel.publisher);
    if (publisher) {
      publisher.bytes.channels -= channelBytes(channel);
      this.store.changedHosts.add(publisher.hostId);
    }
    this.outbox.allHosts('channel:removed', { name: channel.name, reason });
    this.logEvent('unpublish', `"${channel.name}" ended: ${why}`, channel.publisher);
  }

  // ---- subscriptions -------------------------------------------------------------------------

  subscribe(hostId: string, request: SubscriptionCreate): SubscriptionInfo {
    const channel = this.channel(request.channel);
    if (channel.publisher === hostId) throw new InvalidRequestError('a host cannot subscribe to its own channel');
    const mine = [...this.store.subscriptions.values()].filter((s) => s.subscriber === hostId).length;
    if (mine >= LIMITS.maxSubscriptionsPerHost) {
      throw new LimitExceededError(`a host may hold ${LIMITS.maxSubscriptionsPerHost} subscriptions at most`);
    }
    const current = this.requireCube();
    const host = this.host(hostId);
    const sub = this.addSubscription(host, {
      subscriptionId: `s${++this.store.nextIds.subscription}`,
      channel: channel.name,
      subscriber: hostId,
      maxLatencyMs: request.maxLatencyMs,
      pipeline: request.pipeline,
      target: routeTarget(current.cube, channel.anchor, current.ownership.idsOf(hostId)),
      misses: 0,
      lastSwapAttempt: -Infinity,
    });
    this.logEvent('subscribe', `${hostId} subscribes to "${channel.name}" within ${request.maxLatencyMs} ms`, hostId);
    return subscriptionInfo(sub);
  }

  /** Holds a subscription for its subscriber (within its byte limit) and asks its publisher for the route. */
  private addSubscription(host: HostRecord, sub: SubscriptionRecord): SubscriptionRecord {
    this.charge(host, 'subscriptions', host.bytes.subscriptions + subscriptionBytes(sub));
    this.store.subscriptions.set(sub.subscriptionId, sub);
    this.requestRoute(sub);
    return sub;
  }

  unsubscribe(hostId: string, subscriptionId: string): void {
    this.removeSubscription(this.subscription(hostId, subscriptionId));
  }

  /**
   * A subscriber's measured latency; a bound missed often enough makes the server try a swap
   * (Qos). Says whether the bound was met.
   */
  report(hostId: string, report: ClientPayload<'subscription:report'>): boolean {
    return this.qos.report(hostId, report);
  }

  reportLinks(hostId: string, report: LinkReport): void {
    this.measurements.reportLinks(hostId, report);
  }

  reportSpas(hostId: string, report: SpaReport): void {
    this.measurements.reportSpas(hostId, report);
  }

  private subscription(hostId: string, subscriptionId: string): SubscriptionRecord {
    const sub = this.store.subscriptions.get(subscriptionId);
    if (!sub || sub.subscriber !== hostId) throw new UnknownSubscriptionError(`no subscription ${subscriptionId} of ${hostId}`);
    return sub;
  }

  private removeSubscription(sub: SubscriptionRecord): void {
    this.store.subscriptions.delete(sub.subscriptionId);
    this.releaseSubscription(sub);
    const channel = this.store.channels.get(sub.channel);
    if (channel) this.outbox.host(channel.publisher, 'route:cancel', { subscriptionId: sub.subscriptionId, channel: sub.channel });
    this.logEvent('unsubscribe', `${sub.subscriber} left "${sub.channel}"`, sub.subscriber);
  }

  private releaseSubscription(sub: SubscriptionRecord): void {
    const host = this.store.hosts.get(sub.subscriber);
    if (!host) return;
    host.bytes.subscriptions -= subscriptionBytes(sub);
    this.store.changedHosts.add(host.hostId);
  }

  private host(hostId: string): HostRecord {
    const host = this.store.hosts.get(hostId);
    if (!host) throw new UnknownHostError(`no host ${hostId} is connected`);
    return host;
  }

  private requestRoute(sub: SubscriptionRecord): void {
    const channel = this.store.channels.get(sub.channel)!;
    const request: RouteRequest = {
      subscriptionId: sub.subscriptionId,
      channel: sub.channel,
      subscriber: sub.subscriber,
      target: sub.target,
      maxLatencyMs: sub.maxLatencyMs,
      pipeline: sub.pipeline,
      policy: this.store.policy,
      epoch: this.requireCube().epoch,
    };
    this.outbox.host(channel.publisher, 'route:request', request);
  }

  // ---- ownership changes -----------------------------------------------------------------

  /**
   * A delta to every host still here whose ids or neighbours changed since it was last told:
   * the ends of the moves since, and the owners of the moved ids' neighbours (found once per
   * id, however often it moved). `skipHost` gets its whole state instead (a join's answer).
   */
  sendDueDeltas(skipHost?: string): void {
    const current = this.store.cube;
    if (current) {
      for (const id of this.movedIds) {
        for (const neighbour of current.cube.neighbours(id)) {
          const owner = current.ownership.ownerOf(neighbour);
          if (owner) this.deltasDue.add(owner);
        }
      }
      for (const hostId of this.deltasDue) {
        const host = this.store.hosts.get(hostId);
        if (host && hostId !== skipHost) this.sendDelta(host);
      }
    }
    this.movedIds.clear();
    this.deltasDue.clear();
  }

  /**
   * After ids moved: tell every host whose ids or neighbour table changed (now, or with
   * `deferDeltas` at the next sendDueDeltas), then re-target the routes of the moves' ends.
   */
  private applyMoves(moves: readonly Move[], skipHost?: string, deferDeltas = false): void {
    this.requireCube().revision++;
    const ends = new Set<string>();
    for (const move of moves) {
      this.movedIds.add(move.id);
      // Both ends' saved records hold their ids: both are saved again.
      for (const end of [move.from, move.to]) {
        if (!end) continue;
        ends.add(end);
        this.deltasDue.add(end);
        this.store.changedHosts.add(end);
      }
    }
    if (!deferDeltas) this.sendDueDeltas(skipHost);
    // Only the ends' own ids changed: routes depend on nothing else.
    this.refreshRoutes(ends);
    this.outbox.changed();
  }

  private sendDelta(host: HostRecord): void {
    const current = this.requireCube();
    const ids = new Set(current.ownership.idsOf(host.hostId));
    const neighbours = current.ownership.neighbourTable(host.hostId);
    const addedIds = [...ids].filter((id) => !host.sent.ids.has(id));
    const removedIds = [...host.sent.ids].filter((id) => !ids.has(id));
    const changes: [number, string | null][] = [];
    for (const [id, owner] of neighbours) if (host.sent.neighbours.get(id) !== owner) changes.push([id, owner]);
    for (const id of host.sent.neighbours.keys()) if (!neighbours.has(id)) changes.push([id, null]);
    host.sent = { ids, neighbours };
    if (addedIds.length + removedIds.length + changes.length === 0) return;
    this.store.counters.deltasSent++;
    this.outbox.host(host.hostId, 'cube:delta', {
      epoch: current.epoch,
      revision: current.revision,
      addedIds,
      removedIds,
      neighbours: changes,
    });
  }

  /** The full state of a host, recorded as sent. */
  private stateFor(host: HostRecord): CubeState {
    const current = this.requireCube();
    const ids = current.ownership.idsOf(host.hostId);
    const neighbours = current.ownership.neighbourTable(host.hostId);
    host.sent = { ids: new Set(ids), neighbours };
    return {
      hostId: host.hostId,
      epoch: current.epoch,
      revision: current.revision,
      k: current.cube.k,
      n: current.cube.n,
      ids: [...ids],
      neighbours: [...neighbours],
      policy: this.store.policy,
    };
  }

  /**
   * Lay every host out in another cube: a new epoch, a full state for every host (all ids
   * change), every channel re-anchored and every route re-requested.
   */
  private reembedInto(cube: Cube, pinned: boolean, why: string, joining?: string): void {
    const previous = this.requireCube();
    const ownership = previous.ownership.reembed(cube);
    if (joining) ownership.join(joining);
    this.store.cube = { cube, ownership, epoch: previous.epoch + 1, revision: previous.revision + 1, pinned };
    // Every host gets its whole state: deltas owed are in it, and moved ids were the old cube's.
    this.movedIds.clear();
    this.deltasDue.clear();
    for (const host of this.store.hosts.values()) {
      this.store.changedHosts.add(host.hostId);
      if (host.hostId === joining) continue;
      this.store.counters.statesSent++;
      this.outbox.host(host.hostId, 'cube:state', this.stateFor(host));
    }
    this.refreshRoutes(new Set(this.store.hosts.keys()), true);
    this.logEvent('reembed', `re-embedded into the ${cube} (epoch ${previous.epoch + 1}): ${why}`, undefined, {
      from: `${previous.cube.k}x${previous.cube.n}`,
      to: `${cube.k}x${cube.n}`,
    });
    this.outbox.changed();
  }

  /** Re-anchor channels whose publisher lost its anchor, and re-target moved subscribers. */
  private refreshRoutes(affected: ReadonlySet<string>, force = false): void {
    const { cube, ownership } = this.requireCube();
    const moved = new Set<string>();
    for (const channel of this.store.channels.values()) {
      if (!affected.has(channel.publisher)) continue;
      const ids = ownership.idsOf(channel.publisher);
      if (!force && ids.includes(channel.anchor)) continue;
      const updated = { ...channel, anchor: channelAnchor(ids) };
      this.store.channels.set(channel.name, updated);
      this.outbox.allHosts('channel:updated', updated);
      moved.add(channel.name);
    }
    for (const sub of this.store.subscriptions.values()) {
      if (!affected.has(sub.subscriber) && !moved.has(sub.channel)) continue;
      const anchor = this.store.channels.get(sub.channel)!.anchor;
      const target = routeTarget(cube, anchor, ownership.idsOf(sub.subscriber));
      if (!force && target === sub.target && !moved.has(sub.channel)) continue;
      sub.target = target;
      this.requestRoute(sub);
    }
  }

  // ---- observer controls -----------------------------------------------------------------

  kill(hostId: string): void {
    this.host(hostId);
    this.outbox.disconnect(hostId);
  }

  setEmulation(hostId: string, emulation: Emulation): void {
    this.host(hostId).emulation = emulation;
    this.store.changedHosts.add(hostId);
    this.outbox.host(hostId, 'emulation:set', emulation);
    this.logEvent('emulation', `${hostId} emulates ${JSON.stringify(emulation)}`, hostId);
  }

  swapCheck(hostId: string): SwapCheckResult {
    this.host(hostId);
    const result = this.qos.check(hostId);
    if (result.checked.length === 0) throw new InvalidRequestError(`${hostId} subscribes to nothing: a swap moves a subscriber nearer what it watches`);
    return result;
  }

  setPolicy(policy: RoutingPolicyName): void {
    this.store.policy = policy;
    this.outbox.allHosts('policy:changed', { policy });
    for (const sub of this.store.subscriptions.values()) this.requestRoute(sub);
    this.logEvent('policy', `routing policy is now ${policy}`);
    this.outbox.changed();
  }

  /** An observer's two integers for the room's algorithm, to one host or all; says to how many. */
  controlAlgorithm({ hostId, a, b }: { hostId?: string | undefined; a: number; b: number }): { hosts: number } {
    if (hostId !== undefined && !this.store.hosts.has(hostId)) throw new UnknownHostError(`no host ${hostId}`);
    const targets = hostId === undefined ? [...this.store.hosts.keys()] : [hostId];
    for (const target of targets) this.outbox.host(target, 'algorithm:control', { a, b });
    this.logEvent('algorithm', `algorithm ${this.config.algorithm} given (${a}, ${b}) at ${hostId ?? 'every host'}`, hostId);
    return { hosts: targets.length };
  }

  /** Re-embed now: into (k, n) when given (pinned until full), else the population's region. */
  forceReembed(shape: { k?: number | undefined; n?: number | undefined }): { k: number; n: number; epoch: number } {
    const m = this.store.hosts.size;
    if (m === 0 || !this.store.cube) throw new InvalidRequestError('there are no hosts to re-embed');
    let cube: Cube;
    if (shape.k !== undefined && shape.n !== undefined) {
      const most = Math.min(this.config.maxCubeIds, Math.max(this.config.maxForcedCubeIds, 4 * m));
      if (shape.k ** shape.n > most) {
        throw new InvalidRequestError(`a ${shape.k}-ary ${shape.n}-cube has ${shape.k ** shape.n} ids; a forced cube may have ${most} at most`);
      }
      cube = new Cube(shape.k, shape.n);
      if (cube.size < m) throw new InvalidRequestError(`the ${cube} has ${cube.size} ids, fewer than the ${m} hosts`);
    } else if (shape.k === undefined && shape.n === undefined) {
      const region = mRegion(m);
      cube = new Cube(region.k, region.n);
    } else {
      throw new InvalidRequestError('give both k and n, or neither');
    }
    this.reembedInto(cube, shape.k !== undefined, 'forced by an observer');
    return { k: cube.k, n: cube.n, epoch: this.requireCube().epoch };
  }

  // ---- observer feed ----------------------------------------------------------------------

  snapshot(controls: ObserverSnapshot['controls'], uptimeSeconds: number): ObserverSnapshot {
    return roomSnapshot(this.store, this.config.now(), controls, uptimeSeconds, this.config.algorithm, { strategy: this.config.swapStrategy, depth: this.config.swapDepth });
  }

  logEvent(type: ObserverEvent['type'], message: string, hostId?: string, details?: Record<string, unknown>): void {
    const event: ObserverEvent = {
      time: this.config.now(),
      type,
      message,
      ...(hostId !== undefined && { hostId }),
      ...(details !== undefined && { details }),
    };
    const events = this.store.events;
    events.push(event);
    if (events.length > this.config.maxEvents) events.splice(0, events.length - this.config.maxEvents);
    this.outbox.observerEvent(event);
  }

  private requireCube() {
    const current = this.store.cube;
    if (!current) throw new InvalidRequestError('no host has joined yet');
    return current;
  }
}
