import './node-shims.js';
import {
  ClosedError,
  DEFAULT_ROOM,
  LIMITS,
  PUBLISHED_VARIANT,
  TypedEmitter,
  UnknownChannelError,
  type ChannelEndReason,
  type ChannelInfo,
  type ChannelPublish,
  type CubeState,
  type Emulation,
  type HostSpa,
  type SpaFailure,
  type SpaSpec,
  type SubscriptionInfo,
} from '@cubecast/protocol';
import { EngineProxy, type EngineWorker } from './engine-proxy.js';
import type { LinkState } from './engine/index.js';
import { LinkManager, type CreateConnection } from './link-manager.js';
import type { LinkRoute } from './link-route.js';
import { createSimplePeerConnection } from './simple-peer-connection.js';
import { LocalPublication } from './local-publication.js';
import { SignalingSession, type ConnectionState } from './signaling-session.js';
import type { SpaResources } from './spa/browser-pipelines.js';
import { Subscription } from './subscription.js';

const LINK_REPORT_MS = 2000;
const SUBSCRIPTION_REPORT_MS = 1000;
const RELINK_BACKOFF_MS = 1500;
/**
 * After a server restart a subscriber may join before its publisher has published again: its
 * subscription waits this long for the channel to come back before it is ended.
 */
export const RESTORE_WAIT_MS = 30_000;
/** A link not connected by then is started over (its signals may have been lost). */
const LINK_CONNECT_TIMEOUT_MS = 10_000;

/** The `window.cubecast` snapshot: what the page and its tests read. */
export interface PeerSnapshot {
  readonly connection: ConnectionState;
  /** The room (overlay) this tab is in. */
  readonly room: string;
  readonly hostId: string | null;
  readonly cube: { k: number; n: number; epoch: number } | null;
  readonly ids: string[];
  /** Per link: state, smoothed RTT, and data-plane throughput each way over the last second. */
  /**
   * `route`: how the link's packets travel (its selected candidate pair's most indirect end);
   * `routeDetail`: both ends and the protocol; `problem`: why it has not connected, until it does.
   */
  readonly links: { hostId: string; state: LinkState; rttMs: number | null; sentKbps: number; receivedKbps: number; lossRate: number; route: LinkRoute['type'] | null; routeDetail: LinkRoute | null; iceRestarts: number; problem: string | null; stripes: number }[];
  readonly channels: ChannelInfo[];
  readonly publishing: { channel: string; framesEncoded: number }[];
  readonly subscriptions: {
    channel: string;
    subscriptionId: string | null;
    maxLatencyMs: number;
    framesDecoded: number;
    latencyMs: number | null;
    hops: number | null;
    boundMet: boolean | null;
    /** Now minus capture time: meaningful only where publisher and subscriber share a clock. */
    trueLatencyMs: number | null;
    /** The SPAs applied on the way (empty: the stream as published). */
    pipeline: string[];
    /** Why the pipeline stopped at its branch point, if it did: nothing more comes. */
    spaError: string | null;
    /** Set when the channel is not received but recovered here, from this coded channel. */
    recoveredFrom: string | null;
  }[];
  /** The pipelines this host runs as a branch point, with their per-chunk times. */
  readonly spas: readonly HostSpa[];
  /** Network coding this tab does: coding two channels into one, or recovering one. */
  readonly coding: { role: 'encode' | 'decode'; channels: string[]; output: string; error: string | null }[];
  /** Channels this host forwards, and to which hosts. */
  readonly relaying: readonly { channel: string; to: string[] }[];
  /** Data-plane messages refused as malformed, and duplicates dropped. */
  readonly engine: { malformed: number; duplicates: number };
}

export interface PeerEvents extends Record<string, unknown> {
  'snapshot:changed': PeerSnapshot;
  'link:failed': { hostId: string; reason: string };
  /** A subscription's pipeline died at its branch point (the watchdog, or it could not start). */
  'spa:failed': SpaFailure;
  /** The server ended a subscription (its channel went away, or it could not be restored). */
  'subscription:ended': { channel: string; reason: string };
  /**
   * A subscription's publisher lost its connection: the subscription waits (up to
   * `waitMs`) for the channel to be published again, then carries on by itself.
   */
  'subscription:waiting': { channel: string; waitMs: number };
  'error:raised': { message: string };
  /** The last event: `close()` was called; calls from now on fail with ClosedError. */
  'peer:closed': undefined;
}

export interface PeerOptions {
  /** Signaling server; defaults to the page's origin. */
  readonly url?: string;
  readonly name?: string;
  /** The room (overlay) to join; the server's default room when absent. */
  readonly room?: string;
  readonly emulation?: Emulation;
  /** Creates the engine worker (the bundler decides how it is loaded). */
  readonly createWorker: () => EngineWorker;
  /** Lets this host run SPAs where it is a branch point (the bundler knows the URLs). */
  readonly spaResources?: SpaResources;
  /** Makes the WebRTC connection to a linked host (simple-peer unless a test brings its own). */
  readonly createConnection?: CreateConnection;
  /** How long a restored subscription waits for its channel to be published again (RESTORE_WAIT_MS). */
  readonly restoreWaitMs?: number;
}

type CodingState = PeerSnapshot['coding'][number];

/**
 * A browser tab as a Cubecast host, in the shape of livekit's Room: a facade over the
 * signaling session (socket.io), the link manager (one WebRTC connection per linked host) and
 * the engine proxy (the data plane in a worker, which receives each link's data channel at
 * creation). What users set up are objects: `publish` gives a LocalPublication, `subscribe` a
 * Subscription, each with its own events and `close()`. The peer keeps them across lost
 * sessions and sets them up again after the next join.
 */
export class CubecastPeer extends TypedEmitter<PeerEvents> {
  private readonly session: SignalingSession;
  private readonly engine: EngineProxy;
  private readonly links: LinkManager;
  private readonly publications = new Map<string, LocalPublication>();
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly coding = new Map<string, CodingState>();
  /** Subscriptions restored before their channel was published again, with their deadlines. */
  private readonly awaitingChannel = new Map<Subscription, number>();
  /** Subscriptions whose `subscription:create` is in flight after a join. */
  private readonly restoring = new Set<Subscription>();
  private readonly timers: ReturnType<typeof setInterval>[] = [];
  private closedFlag = false;
  private emulation: Emulation | undefined;
  private spasReported = false;
  private readonly restoreWaitMs: number;

  constructor(private readonly options: PeerOptions) {
    super();
    this.emulation = options.emulation;
    this.restoreWaitMs = options.restoreWaitMs ?? RESTORE_WAIT_MS;
    this.engine = new EngineProxy(options.createWorker());
    this.session = new SignalingSession({ url: options.url, name: options.name, room: options.room, emulation: () => this.emulation });
    this.links = new LinkManager({
      createConnection: options.createConnection ?? createSimplePeerConnection,
      ice: () => this.session.iceConfiguration,
      added: (hostId, channels) => this.engine.addLink(hostId, channels),
      stripeAdded: (hostId, channels) => this.engine.addStripe(hostId, channels),
      removed: (hostId) => this.engine.removeLink(hostId),
      signal: (hostId, data, stripe) => this.session.sendSignal(hostId, data, stripe),
      wanted: () => this.desiredLinks(),
      changed: () => this.changed(),
      connectTimeoutMs: LINK_CONNECT_TIMEOUT_MS,
      relinkBackoffMs: RELINK_BACKOFF_MS,
    });
    if (this.emulation) this.engine.setEmulation(this.emulation);
    if (options.spaResources) this.engine.setSpaResources(options.spaResources);
    this.wireEngine();
    this.wireSession();
    this.timers.push(setInterval(() => this.reportLinks(), LINK_REPORT_MS));
    this.timers.push(setInterval(() => this.reportSpas(), LINK_REPORT_MS));
    this.timers.push(
      setInterval(() => {
        this.endOverdueSubscriptions();
        this.reportSubscriptions();
      }, SUBSCRIPTION_REPORT_MS),
    );
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** This tab's publication of `name`, if it publishes it. */
  publication(name: string): LocalPublication | undefined {
    return this.publications.get(name);
  }

  /** This tab's subscription to `channel`, if it has one. */
  subscription(channel: string): Subscription | undefined {
    return this.subscriptions.get(channel);
  }

  snapshot(): PeerSnapshot {
    const state = this.session.state;
    const cube = this.session.cube;
    const { links, relaying, spas, counters } = this.engine.stats;
    const linkStats = new Map(links.map((l) => [l.hostId, l]));
    return {
      connection: this.session.connectionState,
      room: this.options.room ?? DEFAULT_ROOM,
      hostId: state?.hostId ?? null,
      cube: state ? { k: state.k, n: state.n, epoch: state.epoch } : null,
      ids: state && cube ? [...state.ids].sort((a, b) => a - b).map((id) => cube.toText(id)) : [],
      links: [...this.desiredLinks()].sort().map((hostId) => {
        const stats = linkStats.get(hostId);
        const route = this.links.routeOf(hostId);
        return { hostId, state: stats?.state ?? 'connecting', rttMs: stats?.rttMs ?? null, sentKbps: stats?.throughputKbps ?? 0, receivedKbps: stats?.receivedKbps ?? 0, lossRate: stats?.lossRate ?? 0, route: route?.type ?? null, routeDetail: route, iceRestarts: this.links.iceRestartsOf(hostId), problem: this.links.problemOf(hostId), stripes: this.links.stripesOf(hostId) };
      }),
      channels: this.engine.channels(),
      publishing: [...this.publications.values()].map((p) => ({ channel: p.name, framesEncoded: p.stats.framesEncoded })),
      subscriptions: [...this.subscriptions.values()].map((s) => {
        const { framesDecoded, latencyMs, hops, trueLatencyMs } = s.stats;
        return {
          channel: s.channel,
          subscriptionId: s.info?.subscriptionId ?? null,
          maxLatencyMs: s.maxLatencyMs,
          framesDecoded,
          latencyMs,
          hops,
          boundMet: latencyMs === null ? null : latencyMs <= s.maxLatencyMs,
          trueLatencyMs,
          pipeline: s.pipeline.map((stage) => stage.spa),
          spaError: s.spaError,
          recoveredFrom: s.recoveredFrom,
        };
      }),
      coding: [...this.coding.values()],
      spas,
      relaying,
      engine: counters,
    };
  }

  // ---- publishing ----------------------------------------------------------------------------

  /** Publishes a channel; the publication stays until closed, across lost sessions. */
  async publish(request: ChannelPublish): Promise<LocalPublication> {
    this.assertOpen();
    const { channel } = await this.session.request('channel:publish', request);
    this.assertOpen();
    const publication = new LocalPublication(request, channel, {
      sendChunk: (info, flags, payload) => this.engine.sendChunk(info, flags, payload),
      unpublish: (p) => this.unpublish(p),
    });
    this.publications.set(request.name, publication);
    this.carry(publication, channel);
    return publication;
  }

  /** The publication's channel as the server has it now: the engine publishes it from here. */
  private carry(publication: LocalPublication, channel: ChannelInfo): void {
    publication.setChannel(channel);
    this.engine.putChannel(channel);
    this.engine.publish(channel);
    this.changed();
  }

  private async unpublish(publication: LocalPublication): Promise<void> {
    if (this.publications.get(publication.name) !== publication) return;
    this.publications.delete(publication.name);
    if (publication.channel) this.engine.unpublish(publication.channel);
    this.changed();
    if (this.session.joined) await this.session.request('channel:unpublish', { name: publication.name }).catch(() => undefined);
  }

  /**
   * Uploads a custom SPA module as this host (the server takes uploads from joined hosts
   * only, within quotas) and returns its pipeline name, `custom:<sha-256>`. The server checks
   * it against the SPA ABI; a refusal rejects with the server's reason.
   */
  async uploadSpa(module: Blob | ArrayBuffer): Promise<string> {
    this.assertOpen();
    const token = this.session.sessionToken;
    if (!token) throw new Error('join the overlay before uploading an SPA');
    const url = new URL('/spa', this.options.url ?? globalThis.location.href);
    const response = await fetch(url, {
      method: 'POST',
      body: module,
      headers: { 'Content-Type': 'application/wasm', Authorization: `Bearer ${token}` },
    });
    const body = (await response.json().catch(() => ({}))) as { spa?: string; error?: string };
    if (!response.ok || !body.spa) throw new Error(body.error ?? `the server refused the module (HTTP ${response.status})`);
    return body.spa;
  }

  // ---- subscribing ---------------------------------------------------------------------------

  /** Subscribes with a latency bound and a pipeline; the subscription stays until closed or ended. */
  async subscribe(channel: string, maxLatencyMs: number, pipeline: SpaSpec[] = []): Promise<Subscription> {
    this.assertOpen();
    // One per channel: a second would leave the first without a way to close it.
    if (this.subscriptions.has(channel)) throw new Error(`this tab already subscribes to ${channel}: close that subscription first`);
    const { subscription: info } = await this.session.request('subscription:create', { channel, maxLatencyMs, pipeline });
    this.assertOpen();
    return this.addSubscription({ channel, maxLatencyMs, pipeline }, info);
  }

  private addSubscription(request: ConstructorParameters<typeof Subscription>[0], info: Subscription['info']): Subscription {
    const subscription = new Subscription(request, {
      requestKeyframe: (name) => this.engine.requestKeyframe(name),
      unsubscribe: (s) => this.unsubscribe(s),
    });
    subscription.setInfo(info);
    this.subscriptions.set(request.channel, subscription);
    // A recovered channel arrives from the coding session, not by a route of its own.
    if (request.recoveredFrom === undefined) this.engine.subscribe(request.channel);
    this.changed();
    return subscription;
  }

  private async unsubscribe(subscription: Subscription): Promise<void> {
    if (!this.forget(subscription)) return;
    const { info } = subscription;
    if (info && this.session.joined) await this.session.request('subscription:delete', { subscriptionId: info.subscriptionId }).catch(() => undefined);
  }

  /**
   * A subscription's channel went away. If its publisher only lost its connection, the
   * subscription waits for the channel to come back (as after a restart of the server);
   * otherwise it ends.
   */
  private channelEnded(subscription: Subscription | undefined, reason: ChannelEndReason | undefined): void {
    if (!subscription || this.subscriptions.get(subscription.channel) !== subscription) return;
    if (reason !== 'publisher-lost') {
      this.endSubscription(subscription, `${subscription.channel} is no longer published`);
      return;
    }
    this.engine.unsubscribe(subscription.channel);
    subscription.setInfo(null);
    this.waitForChannel(subscription);
  }

  /** Keeps a subscription whose channel is gone waiting for it (once), and says so. */
  private waitForChannel(subscription: Subscription): void {
    if (this.awaitingChannel.has(subscription)) return;
    this.awaitingChannel.set(subscription, Date.now() + this.restoreWaitMs);
    this.emit('subscription:waiting', { channel: subscription.channel, waitMs: this.restoreWaitMs });
    this.changed();
  }

  /** The server holds the subscription again (created anew, or kept for a resumed session). */
  private takeUp(subscription: Subscription, info: SubscriptionInfo): void {
    this.awaitingChannel.delete(subscription);
    subscription.resume(info);
    this.engine.subscribe(subscription.channel);
    this.changed();
  }

  /** The server ended it (or it could not be restored): dropped here, no request to make. */
  private endSubscription(subscription: Subscription | undefined, reason: string): void {
    if (!subscription || !this.forget(subscription)) return;
    subscription.end(reason);
    this.emit('subscription:ended', { channel: subscription.channel, reason });
  }

  /** Drops a subscription here (engine, coding, snapshot); false if it was not this peer's current one. */
  private forget(subscription: Subscription): boolean {
    if (this.subscriptions.get(subscription.channel) !== subscription) return false;
    this.subscriptions.delete(subscription.channel);
    this.awaitingChannel.delete(subscription);
    if (this.coding.delete(subscription.channel)) this.engine.stopCoding(subscription.channel);
    this.engine.unsubscribe(subscription.channel);
    this.changed();
    return true;
  }

  // ---- network coding (iOverlay's case study) ------------------------------------------------

  /**
   * Codes channels `a` and `b` into a new channel `coded` (c1·A + c2·B over GF(2^8), fresh
   * coefficients per pair): this tab subscribes to both and publishes the coded one.
   */
  async startCoding(a: string, b: string, coded: string): Promise<LocalPublication> {
    this.assertOpen();
    for (const source of [a, b]) if (!this.subscriptions.has(source)) await this.subscribe(source, LIMITS.maxLatencyBoundMs);
    const publication = await this.publish({ name: coded, kind: 'coded', codec: { codec: 'gf256', sources: [a, b] } });
    if (!this.engine.startCoding(coded, { role: 'encode', inputs: [a, b], output: coded })) throw new Error('a source channel went away');
    this.coding.set(coded, { role: 'encode', channels: [a, b], output: coded, error: null });
    this.changed();
    return publication;
  }

  /**
   * Recovers the source of coded channel `coded` this tab does not receive, from the one it
   * does (it must subscribe to one of them) and the coded chunks. The recovered channel then
   * arrives here as a subscription of its own.
   */
  async startDecoding(coded: string): Promise<Subscription> {
    this.assertOpen();
    const info = this.engine.channel(coded);
    if (info?.kind !== 'coded' || !('sources' in info.codec)) throw new Error(`${coded} is not a coded channel`);
    const sources = info.codec.sources;
    const plainIs = sources.findIndex((name) => this.subscriptions.get(name)?.recoveredFrom === null);
    if (plainIs < 0) throw new Error(`subscribe to ${sources[0]} or ${sources[1]} first: decoding needs one of them`);
    const plain = sources[plainIs]!;
    const recovered = sources[1 - plainIs]!;
    if (this.subscriptions.has(recovered)) throw new Error(`this tab already receives ${recovered}`);
    if (!this.subscriptions.has(coded)) await this.subscribe(coded, LIMITS.maxLatencyBoundMs);
    const session = { role: 'decode', plain, plainIs: plainIs as 0 | 1, coded, recovered } as const;
    if (!this.engine.startCoding(recovered, session)) throw new Error('a channel of the coding went away');
    // Recovered chunks come as the channel's published variant: 'coding' is only what the page shows.
    const subscription = this.addSubscription(
      { channel: recovered, maxLatencyMs: this.subscriptions.get(plain)!.maxLatencyMs, pipeline: [{ spa: 'coding' }], recoveredFrom: coded, variant: PUBLISHED_VARIANT },
      null,
    );
    this.coding.set(recovered, { role: 'decode', channels: [plain, coded], output: recovered, error: null });
    this.changed();
    return subscription;
  }

  /** Diagnostics: raw bytes onto the link to `hostId`, bypassing every check (bad-input tests). */
  debugSendRaw(hostId: string, bytes: Uint8Array): void {
    this.engine.sendRaw(hostId, bytes);
  }

  /** Leaves the overlay: links, engine and session end; publications and subscriptions close. */
  close(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    for (const timer of this.timers) clearInterval(timer);
    this.links.close();
    this.engine.close();
    this.session.close();
    for (const publication of this.publications.values()) publication.end('the peer closed');
    for (const subscription of this.subscriptions.values()) subscription.end('the peer closed');
    this.publications.clear();
    this.subscriptions.clear();
    this.emit('peer:closed', undefined);
    this.removeAllListeners();
  }

  // ---- the session ---------------------------------------------------------------------------

  private wireSession(): void {
    const session = this.session;
    session.on('session:joined', ({ channels, state, algorithm, resumed }) => {
      // First: the room's algorithm lays every route this host takes part in.
      this.engine.useAlgorithm(algorithm);
      this.engine.replaceChannels(channels);
      this.syncTopology(state);
      // A resumed session: the server kept these subscriptions (same ids) for this host.
      for (const info of resumed?.subscriptions ?? []) {
        const subscription = this.subscriptions.get(info.channel);
        if (subscription) this.takeUp(subscription, info);
      }
      void this.restore();
    });
    session.on('session:lost', () => this.onSessionLost());
    session.on('session:failed', ({ message }) => this.emit('error:raised', { message }));
    session.on('connection:changed', () => this.changed());
    session.on('cube:changed', ({ state, epochChanged }) => {
      // Links still negotiating start over in the new epoch (their signals would be refused).
      if (epochChanged) this.links.dropNegotiating();
      this.syncTopology(state);
    });
    session.on('signal:received', ({ from, data, stripe }) => {
      try {
        this.links.onSignal(from, data, stripe);
      } catch (error) {
        this.emit('error:raised', { message: `bad signal from ${from}: ${(error as Error).message}` });
      }
    });
    session.on('channel:added', (channel) => this.onChannel(channel));
    session.on('channel:updated', (channel) => this.onChannel(channel));
    session.on('channel:removed', ({ name, reason }) => {
      if (!this.engine.channel(name)) return;
      // Ended while still in the directory: the engine is told to stop delivering it by its id.
      this.channelEnded(this.subscriptions.get(name), reason);
      this.engine.removeChannel(name);
      this.changed();
    });
    session.on('route:requested', (route) => this.engine.requestRoute(route));
    session.on('route:cancelled', ({ subscriptionId }) => this.engine.cancelRoute(subscriptionId));
    session.on('subscription:updated', (info) => {
      const subscription = this.subscriptions.get(info.channel);
      if (info.state === 'ended' && subscription?.info?.subscriptionId === info.subscriptionId) this.channelEnded(subscription, info.endReason);
    });
    session.on('spa:failed', (failure) => {
      const subscription = this.subscriptions.get(failure.channel);
      if (!subscription || subscription.info?.subscriptionId !== failure.subscriptionId) return;
      subscription.spaFailed(failure);
      this.emit('spa:failed', failure);
      this.changed();
    });
    session.on('algorithm:control', ({ a, b }) => this.engine.controlAlgorithm(a, b));
    session.on('emulation:set', (emulation) => {
      this.emulation = emulation;
      this.engine.setEmulation(emulation);
    });
  }

  /** After a new join the server knows a new host: publish and subscribe again. */
  private async restore(): Promise<void> {
    const hostId = this.session.state?.hostId;
    for (const publication of [...this.publications.values()]) {
      const kept = this.engine.channel(publication.name);
      if (kept && kept.publisher === hostId) {
        // A resumed session: the server gave this host its channel back, under its id.
        this.carry(publication, kept);
        continue;
      }
      try {
        const { channel } = await this.session.request('channel:publish', publication.request);
        if (publication.closed) {
          this.session.notify('channel:unpublish', { name: publication.name });
          continue;
        }
        this.carry(publication, channel);
      } catch (error) {
        this.emit('error:raised', { message: `could not publish "${publication.name}" again: ${(error as Error).message}` });
      }
    }
    for (const subscription of [...this.subscriptions.values()]) {
      if (subscription.info?.subscriber === hostId || subscription.recoveredFrom !== null) continue;
      await this.resubscribe(subscription);
    }
    this.changed();
  }

  /**
   * Creates a kept subscription again on the server. A channel not (yet) published again
   * leaves it waiting for the channel, up to RESTORE_WAIT_MS; any other refusal ends it.
   */
  private async resubscribe(subscription: Subscription): Promise<void> {
    if (this.restoring.has(subscription)) return;
    this.restoring.add(subscription);
    const { channel, maxLatencyMs, pipeline } = subscription;
    try {
      const { subscription: info } = await this.session.request('subscription:create', { channel, maxLatencyMs, pipeline: [...pipeline] });
      if (subscription.closed) {
        this.session.notify('subscription:delete', { subscriptionId: info.subscriptionId });
        return;
      }
      this.takeUp(subscription, info);
    } catch (error) {
      if (error instanceof UnknownChannelError) {
        this.waitForChannel(subscription);
      } else {
        this.endSubscription(subscription, `could not subscribe again: ${(error as Error).message}`);
      }
    } finally {
      this.restoring.delete(subscription);
    }
  }

  /** Ends the subscriptions whose channel did not come back in time. */
  private endOverdueSubscriptions(): void {
    const now = Date.now();
    for (const [subscription, deadline] of this.awaitingChannel) {
      if (now >= deadline) this.endSubscription(subscription, `${subscription.channel} was not published again within ${this.restoreWaitMs / 1000} s`);
    }
  }

  private onSessionLost(): void {
    this.links.removeAll();
    // The server forgot this host's channels and subscriptions with its connection; the engine
    // must too, or it would keep refreshing routes of a dead channel. `restore` recreates them.
    for (const publication of this.publications.values()) {
      if (publication.channel) this.engine.unpublish(publication.channel);
      publication.setChannel(null);
    }
    for (const subscription of this.subscriptions.values()) {
      this.engine.unsubscribe(subscription.channel);
      subscription.setInfo(null);
    }
    // The next join's restore asks again for each.
    this.awaitingChannel.clear();
    this.changed();
  }

  private desiredLinks(): Set<string> {
    return new Set(this.session.state?.neighbours.map(([, hostId]) => hostId) ?? []);
  }

  /** Hand the engine the new view; open links to new neighbours, close links to former ones. */
  private syncTopology(state: CubeState): void {
    this.engine.setView({ hostId: state.hostId, epoch: state.epoch, k: state.k, n: state.n, ids: state.ids, neighbours: state.neighbours, policy: state.policy });
    this.links.sync(state.hostId);
    this.changed();
  }

  private onChannel(channel: ChannelInfo): void {
    this.engine.putChannel(channel);
    const publication = this.publications.get(channel.name);
    if (publication && channel.publisher === this.session.state?.hostId) this.carry(publication, channel);
    const subscription = this.subscriptions.get(channel.name);
    if (subscription && this.awaitingChannel.has(subscription)) void this.resubscribe(subscription);
    else if (subscription) this.engine.subscribe(channel.name);
    this.changed();
  }

  // ---- the engine ----------------------------------------------------------------------------

  private wireEngine(): void {
    const engine = this.engine;
    engine.on('chunk:delivered', ({ channel, chunk }) => {
      const subscription = this.subscriptions.get(channel.name);
      if (subscription?.variant === chunk.variant) subscription.deliver(chunk);
    });
    engine.on('keyframe:requested', ({ channel }) => this.publications.get(channel.name)?.keyframeRequested());
    engine.on('stats:updated', ({ links }) => {
      const now = performance.now();
      for (const link of links) this.links.measured(link, now);
      this.changed();
    });
    // The server passes the news to the subscribers that wanted this pipeline's output.
    engine.on('spa:died', () => this.reportSpas());
    engine.on('link:stalled', ({ hostId }) => {
      this.links.stalled(hostId);
      this.reportLinks();
    });
    engine.on('link:recovered', () => this.reportLinks());
    engine.on('link:failed', (failure) => {
      this.links.failed(failure.hostId);
      this.emit('link:failed', failure);
      this.reportLinks();
    });
    engine.on('engine:error', ({ message }) => this.emit('error:raised', { message }));
    engine.on('coding:failed', ({ id, message }) => {
      const session = this.coding.get(id);
      if (session) session.error = message;
      this.emit('error:raised', { message: `network coding of ${id} stopped: ${message}` });
      this.changed();
    });
  }

  // ---- reports to the server -----------------------------------------------------------------

  private reportLinks(): void {
    const { links, relaying } = this.engine.stats;
    if (links.length === 0) return;
    const carried = (hostId: string) => relaying.filter((r) => r.to.includes(hostId)).map((r) => r.channel).slice(0, LIMITS.maxChannelsPerLink);
    this.session.notify('link:report', {
      links: links.map((l) => {
        const channels = carried(l.hostId);
        return { hostId: l.hostId, state: l.state, ...(l.rttMs !== undefined && { rttMs: l.rttMs }), throughputKbps: l.throughputKbps, lossRate: l.lossRate, ...(channels.length > 0 && { channels }) };
      }),
    });
  }

  /** What runs here as a branch point, for the server (observers, and subscribers' notices). */
  private reportSpas(): void {
    const { spas } = this.engine.stats;
    if (!this.session.joined || (spas.length === 0 && !this.spasReported)) return;
    this.spasReported = spas.length > 0;
    this.session.notify('spa:report', { spas: [...spas] });
  }

  /** Each subscription's latency and hops: the server's QoS loop, whether or not anything shows it. */
  private reportSubscriptions(): void {
    for (const publication of this.publications.values()) publication.reportStats();
    for (const subscription of this.subscriptions.values()) {
      const report = subscription.report();
      if (report) this.session.notify('subscription:report', report);
    }
  }

  private changed(): void {
    this.emit('snapshot:changed', this.snapshot());
  }

  private assertOpen(): void {
    if (this.closedFlag) throw new ClosedError('this peer');
  }
}

export type { ConnectionState };
