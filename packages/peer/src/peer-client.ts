import './node-shims.js';
import { Cube } from '@cubecast/overlay';
import {
  applyCubeDelta,
  DATA_CHANNEL,
  PROTOCOL_VERSION,
  request,
  type AckResult,
  type ChannelInfo,
  type ChannelPublish,
  type ClientToServerEvents,
  type CubeDelta,
  type CubeState,
  type Emulation,
  type RouteRequest,
  type ServerToClientEvents,
  type SignalData,
  LIMITS,
  pipelineVariant,
  PUBLISHED_VARIANT,
  type HostSpa,
  type SpaFailure,
  type SpaSpec,
  type SubscriptionInfo,
  TypedEmitter,
} from '@cubecast/protocol';
import SimplePeer from 'simple-peer';
import { io, type Socket } from 'socket.io-client';
import type { EngineCommand, EngineReport } from './engine/worker-protocol.js';
import type { DeliveredChunk, LinkStats, SpaReport } from './engine/types.js';
import { LinkManager, type CreateConnection, type LinkConnection } from './link-manager.js';
import type { SpaResources } from './spa/browser-pipelines.js';

const LINK_REPORT_MS = 2000;
const RELINK_BACKOFF_MS = 1500;
/** A link not connected by then is started over (its signals may have been lost). */
const LINK_CONNECT_TIMEOUT_MS = 10_000;

export type ConnectionState = 'connecting' | 'connected' | 'disconnected';

/** The `window.cubecast` snapshot: what the page and its tests read. */
export interface PeerSnapshot {
  readonly connection: ConnectionState;
  readonly hostId: string | null;
  readonly cube: { k: number; n: number; epoch: number } | null;
  readonly ids: string[];
  /** Per link: state, smoothed RTT, and data-plane throughput each way over the last second. */
  readonly links: { hostId: string; state: 'connecting' | 'open' | 'failed'; rttMs: number | null; sentKbps: number; receivedKbps: number }[];
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
  readonly spas: HostSpa[];
  /** Network coding this tab does: coding two channels into one, or recovering one. */
  readonly coding: { role: 'encode' | 'decode'; channels: string[]; output: string; error: string | null }[];
  /** Channels this host forwards, and to which hosts. */
  readonly relaying: { channel: string; to: string[] }[];
  /** Data-plane messages refused as malformed, and duplicates dropped. */
  readonly engine: { malformed: number; duplicates: number };
}

export interface PeerEvents extends Record<string, unknown> {
  'snapshot:changed': PeerSnapshot;
  'chunk:received': { channel: ChannelInfo; chunk: DeliveredChunk };
  'keyframe:requested': { channel: ChannelInfo };
  'link:failed': { hostId: string; reason: string };
  'subscription:ended': { channel: string };
  /** A subscription's pipeline died at its branch point (the watchdog, or it could not start). */
  'spa:failed': SpaFailure;
  'error:raised': { message: string };
  /** The last event: `close()` was called; calls from now on fail with PeerClosedError. */
  'peer:closed': undefined;
}

export interface PeerOptions {
  /** Signaling server; defaults to the page's origin. */
  readonly url?: string;
  readonly name?: string;
  readonly emulation?: Emulation;
  /** Creates the engine worker (the bundler decides how it is loaded). */
  readonly createWorker: () => Worker;
  /** Lets this host run SPAs where it is a branch point (the bundler knows the URLs). */
  readonly spaResources?: SpaResources;
  /** Makes the WebRTC connection to a linked host (simple-peer unless a test brings its own). */
  readonly createConnection?: CreateConnection;
}

const createSimplePeerConnection: CreateConnection = (initiator) => {
  const peer = new SimplePeer({ initiator, trickle: true, config: { iceServers: [] } });
  // simple-peer has no public handle on its RTCPeerConnection; the negotiated channel must be
  // created on it and transferred in this same task.
  const pc = (peer as unknown as { _pc: RTCPeerConnection })._pc;
  const { label, ...init } = DATA_CHANNEL;
  return { connection: peer as unknown as LinkConnection, channel: pc.createDataChannel(label, init) };
};

interface Publication {
  request: ChannelPublish;
  channel: ChannelInfo | null;
  framesEncoded: number;
}

interface Subscription {
  channel: string;
  maxLatencyMs: number;
  pipeline: SpaSpec[];
  variant: number;
  spaError: string | null;
  recoveredFrom: string | null;
  info: SubscriptionInfo | null;
  framesDecoded: number;
  latencyMs: number | null;
  hops: number | null;
  trueLatencyMs: number | null;
}

function newSubscription(channel: string, maxLatencyMs: number, pipeline: SpaSpec[], recoveredFrom: string | null): Subscription {
  return { channel, maxLatencyMs, pipeline, variant: pipelineVariant(pipeline), spaError: null, recoveredFrom, info: null, framesDecoded: 0, latencyMs: null, hops: null, trueLatencyMs: null };
}

/** A call on a closed peer. */
export class PeerClosedError extends Error {
  override readonly name = 'PeerClosedError';
}

/**
 * A browser tab as a Cubecast host: the control plane on the main thread (socket.io to the
 * server, one simple-peer connection per linked host) and the data plane in an engine worker,
 * which receives each connection's data channel at creation.
 */
export class CubecastPeer extends TypedEmitter<PeerEvents> {
  private readonly socket: Socket<ServerToClientEvents, ClientToServerEvents>;
  private readonly worker: Worker;
  private state: CubeState | null = null;
  private cube: Cube | null = null;
  private connection: ConnectionState = 'connecting';
  private readonly links: LinkManager;
  private linkStats = new Map<string, LinkStats>();
  private forwarding: { channel: number; to: string[] }[] = [];
  private engineCounters = { malformed: 0, duplicates: 0 };
  private spas: SpaReport[] = [];
  private readonly coding = new Map<string, { role: 'encode' | 'decode'; channels: string[]; output: string; error: string | null }>();
  private readonly channels = new Map<string, ChannelInfo>();
  private readonly publications = new Map<string, Publication>();
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly timers: ReturnType<typeof setInterval>[] = [];
  private closedFlag = false;
  private emulation: Emulation | undefined;
  /** From the latest join: proves this host's HTTP requests (uploads) to the server. */
  private sessionToken: string | null = null;

  constructor(private readonly options: PeerOptions) {
    super();
    this.emulation = options.emulation;
    this.worker = options.createWorker();
    this.links = new LinkManager({
      createConnection: options.createConnection ?? createSimplePeerConnection,
      added: (hostId, channel) => this.command({ type: 'link:add', hostId, channel }, [channel as unknown as Transferable]),
      removed: (hostId) => {
        this.linkStats.delete(hostId);
        this.command({ type: 'link:remove', hostId });
      },
      signal: (hostId, data) => {
        const epoch = this.state?.epoch;
        if (epoch === undefined || !this.socket.connected) return;
        this.request('signal:send', { to: hostId, epoch, data }).catch(() => {
          // Refused (the link went away in a re-embedding): the topology sync cleans up.
        });
      },
      wanted: () => this.desiredLinks(),
      changed: () => this.changed(),
      connectTimeoutMs: LINK_CONNECT_TIMEOUT_MS,
      relinkBackoffMs: RELINK_BACKOFF_MS,
    });
    this.worker.onmessage = (event: MessageEvent<EngineReport>) => this.onEngine(event.data);
    this.worker.onerror = (event) => this.emit('error:raised', { message: `engine worker failed: ${event.message}` });
    if (this.emulation) this.command({ type: 'emulation', emulation: this.emulation });
    if (options.spaResources) this.command({ type: 'spa:resources', resources: options.spaResources });
    this.socket = io(options.url ?? '/', { transports: ['websocket'], reconnectionDelayMax: 5000 });
    this.socket.on('connect', () => void this.join());
    this.socket.on('disconnect', () => this.onDisconnect());
    this.socket.on('connect_error', () => this.setConnection('disconnected'));
    this.socket.on('cube:state', (state) => this.applyState(state));
    this.socket.on('cube:delta', (delta) => this.applyDelta(delta));
    this.socket.on('signal:receive', (message) => this.onSignal(message));
    this.socket.on('channel:added', (channel) => this.onChannel(channel));
    this.socket.on('channel:updated', (channel) => this.onChannel(channel));
    this.socket.on('channel:removed', ({ name }) => this.onChannelRemoved(name));
    this.socket.on('route:request', (request) => this.onRouteRequest(request));
    this.socket.on('route:cancel', ({ subscriptionId }) => this.command({ type: 'route:cancel', subscriptionId }));
    this.socket.on('subscription:updated', (info) => this.onSubscriptionUpdated(info));
    this.socket.on('spa:failed', (failure) => this.onSpaFailed(failure));
    this.socket.on('emulation:set', (emulation) => {
      this.emulation = emulation;
      this.command({ type: 'emulation', emulation });
    });
    this.timers.push(setInterval(() => this.reportLinks(), LINK_REPORT_MS));
    this.timers.push(setInterval(() => this.reportSpas(), LINK_REPORT_MS));
    this.timers.push(setInterval(() => this.reportSubscriptions(), 1000));
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  snapshot(): PeerSnapshot {
    const state = this.state;
    const desired = this.desiredLinks();
    return {
      connection: this.connection,
      hostId: state?.hostId ?? null,
      cube: state ? { k: state.k, n: state.n, epoch: state.epoch } : null,
      ids: state && this.cube ? [...state.ids].sort((a, b) => a - b).map((id) => this.cube!.toText(id)) : [],
      links: [...desired].sort().map((hostId) => {
        const stats = this.linkStats.get(hostId);
        return { hostId, state: stats?.state ?? 'connecting', rttMs: stats?.rttMs ?? null, sentKbps: stats?.throughputKbps ?? 0, receivedKbps: stats?.receivedKbps ?? 0 };
      }),
      channels: [...this.channels.values()],
      publishing: [...this.publications.values()].map((p) => ({ channel: p.request.name, framesEncoded: p.framesEncoded })),
      subscriptions: [...this.subscriptions.values()].map((s) => ({
        channel: s.channel,
        subscriptionId: s.info?.subscriptionId ?? null,
        maxLatencyMs: s.maxLatencyMs,
        framesDecoded: s.framesDecoded,
        latencyMs: s.latencyMs,
        hops: s.hops,
        boundMet: s.latencyMs === null ? null : s.latencyMs <= s.maxLatencyMs,
        trueLatencyMs: s.trueLatencyMs,
        pipeline: s.pipeline.map((stage) => stage.spa),
        spaError: s.spaError,
        recoveredFrom: s.recoveredFrom,
      })),
      coding: [...this.coding.values()],
      spas: this.namedSpas(),
      relaying: this.forwarding.flatMap(({ channel, to }) => {
        const name = this.channelById(channel)?.name;
        return name ? [{ channel: name, to }] : [];
      }),
      engine: this.engineCounters,
    };
  }

  // ---- publishing ----------------------------------------------------------------------------

  async publish(request: ChannelPublish): Promise<ChannelInfo> {
    this.assertOpen();
    const { channel } = await this.request('channel:publish', request);
    this.publications.set(request.name, { request, channel, framesEncoded: 0 });
    this.command({ type: 'publish', channel: channel.id, anchor: channel.anchor });
    this.changed();
    return channel;
  }

  /** A publisher's encoded chunk into its channel. `payload` is transferred: do not reuse it. */
  sendChunk(name: string, flags: number, payload: ArrayBuffer): void {
    const publication = this.publications.get(name);
    if (!publication?.channel) return;
    publication.framesEncoded++;
    this.command({ type: 'chunk', channel: publication.channel.id, flags, payload }, [payload]);
  }

  async unpublish(name: string): Promise<void> {
    const publication = this.publications.get(name);
    if (!publication) return;
    this.publications.delete(name);
    if (publication.channel) this.command({ type: 'unpublish', channel: publication.channel.id });
    this.changed();
    if (this.socket.connected) await this.request('channel:unpublish', { name }).catch(() => undefined);
  }

  /**
   * Uploads a custom SPA module as this host (the server takes uploads from joined hosts
   * only, within quotas) and returns its pipeline name, `custom:<sha-256>`. The server checks
   * it against the SPA ABI; a refusal rejects with the server's reason.
   */
  async uploadSpa(module: Blob | ArrayBuffer): Promise<string> {
    this.assertOpen();
    if (!this.sessionToken) throw new Error('join the overlay before uploading an SPA');
    const url = new URL('/spa', this.options.url ?? globalThis.location.href);
    const response = await fetch(url, {
      method: 'POST',
      body: module,
      headers: { 'Content-Type': 'application/wasm', Authorization: `Bearer ${this.sessionToken}` },
    });
    const body = (await response.json().catch(() => ({}))) as { spa?: string; error?: string };
    if (!response.ok || !body.spa) throw new Error(body.error ?? `the server refused the module (HTTP ${response.status})`);
    return body.spa;
  }

  // ---- subscribing ---------------------------------------------------------------------------

  async subscribe(channel: string, maxLatencyMs: number, pipeline: SpaSpec[] = []): Promise<SubscriptionInfo> {
    this.assertOpen();
    const subscription = newSubscription(channel, maxLatencyMs, pipeline, null);
    const { subscription: info } = await this.request('subscription:create', { channel, maxLatencyMs, pipeline });
    subscription.info = info;
    this.subscriptions.set(channel, subscription);
    const id = this.channels.get(channel)?.id;
    if (id !== undefined) this.command({ type: 'subscribe', channel: id });
    this.changed();
    return info;
  }

  async unsubscribe(channel: string): Promise<void> {
    const subscription = this.subscriptions.get(channel);
    if (!subscription) return;
    this.subscriptions.delete(channel);
    if (this.coding.delete(channel)) this.command({ type: 'coding:stop', id: channel });
    const id = this.channels.get(channel)?.id;
    if (id !== undefined) this.command({ type: 'unsubscribe', channel: id });
    this.changed();
    if (subscription.info && this.socket.connected) {
      await this.request('subscription:delete', { subscriptionId: subscription.info.subscriptionId }).catch(() => undefined);
    }
  }

  // ---- network coding (iOverlay's case study) ------------------------------------------------

  /**
   * Codes channels `a` and `b` into a new channel `coded` (c1·A + c2·B over GF(2^8), fresh
   * coefficients per pair): this tab subscribes to both and publishes the coded one.
   */
  async startCoding(a: string, b: string, coded: string): Promise<void> {
    this.assertOpen();
    for (const source of [a, b]) if (!this.subscriptions.has(source)) await this.subscribe(source, LIMITS.maxLatencyBoundMs);
    const channel = await this.publish({ name: coded, kind: 'coded', codec: { codec: 'gf256', sources: [a, b] } });
    const inputs = [a, b].map((name) => this.channels.get(name)?.id);
    if (inputs[0] === undefined || inputs[1] === undefined) throw new Error('a source channel went away');
    this.coding.set(coded, { role: 'encode', channels: [a, b], output: coded, error: null });
    this.command({ type: 'coding:start', id: coded, session: { role: 'encode', inputs: [inputs[0], inputs[1]], output: channel.id } });
    this.changed();
  }

  /**
   * Recovers the source of coded channel `coded` this tab does not receive, from the one it
   * does (it must subscribe to one of them) and the coded chunks. The recovered channel then
   * arrives here as if subscribed.
   */
  async startDecoding(coded: string): Promise<string> {
    this.assertOpen();
    const info = this.channels.get(coded);
    if (info?.kind !== 'coded' || !('sources' in info.codec)) throw new Error(`${coded} is not a coded channel`);
    const sources = info.codec.sources;
    const plainIs = sources.findIndex((name) => this.subscriptions.get(name)?.recoveredFrom === null);
    if (plainIs < 0) throw new Error(`subscribe to ${sources[0]} or ${sources[1]} first: decoding needs one of them`);
    const plain = sources[plainIs]!;
    const recovered = sources[1 - plainIs]!;
    if (this.subscriptions.has(recovered)) throw new Error(`this tab already receives ${recovered}`);
    if (!this.subscriptions.has(coded)) await this.subscribe(coded, LIMITS.maxLatencyBoundMs);
    const ids = [plain, coded, recovered].map((name) => this.channels.get(name)?.id);
    if (ids.some((id) => id === undefined)) throw new Error('a channel of the coding went away');
    // Recovered chunks come as the channel's published variant: 'coding' is only what the page shows.
    this.subscriptions.set(recovered, { ...newSubscription(recovered, this.subscriptions.get(plain)!.maxLatencyMs, [{ spa: 'coding' }], coded), variant: PUBLISHED_VARIANT });
    this.coding.set(recovered, { role: 'decode', channels: [plain, coded], output: recovered, error: null });
    this.command({ type: 'coding:start', id: recovered, session: { role: 'decode', plain: ids[0]!, plainIs: plainIs as 0 | 1, coded: ids[1]!, recovered: ids[2]! } });
    this.changed();
    return recovered;
  }

  /** A subscriber's player reports what it decoded and measured. */
  noteDecoded(channel: string, frame: { latencyMs: number; hops: number; trueLatencyMs?: number }): void {
    const subscription = this.subscriptions.get(channel);
    if (!subscription) return;
    subscription.framesDecoded++;
    subscription.latencyMs = frame.latencyMs;
    subscription.hops = frame.hops;
    subscription.trueLatencyMs = frame.trueLatencyMs ?? null;
  }

  requestKeyframe(channel: string): void {
    const id = this.channels.get(channel)?.id;
    if (id !== undefined) this.command({ type: 'keyframe', channel: id });
  }

  /** Diagnostics: raw bytes onto the link to `hostId`, bypassing every check (bad-input tests). */
  debugSendRaw(hostId: string, bytes: Uint8Array): void {
    const copy = bytes.slice().buffer;
    this.command({ type: 'raw', hostId, bytes: copy }, [copy]);
  }

  close(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    for (const timer of this.timers) clearInterval(timer);
    this.links.close();
    this.command({ type: 'stop' });
    this.socket.close();
    this.emit('peer:closed', undefined);
    this.removeAllListeners();
  }

  // ---- signaling -----------------------------------------------------------------------------

  private request<E extends keyof ClientToServerEvents>(event: E, payload: Parameters<ClientToServerEvents[E]>[0]): Promise<AckResult<E>> {
    return request(this.socket, event, payload);
  }

  private async join(): Promise<void> {
    try {
      const result = await this.request('host:join', {
        protocol: PROTOCOL_VERSION,
        ...(this.options.name !== undefined && { name: this.options.name }),
        ...(this.emulation !== undefined && { emulation: this.emulation }),
      });
      this.sessionToken = result.sessionToken;
      this.channels.clear();
      for (const channel of result.channels) this.channels.set(channel.name, channel);
      this.sendDirectory();
      this.setConnection('connected');
      this.applyState(result.state);
      await this.restore();
    } catch (error) {
      this.emit('error:raised', { message: `could not join: ${(error as Error).message}` });
    }
  }

  /** After a reconnection the server knows a new host: publish and subscribe again. */
  private async restore(): Promise<void> {
    for (const publication of [...this.publications.values()]) {
      if (publication.channel && this.channels.get(publication.request.name)?.publisher === this.state?.hostId) continue;
      try {
        const { channel } = await this.request('channel:publish', publication.request);
        publication.channel = channel;
        this.command({ type: 'publish', channel: channel.id, anchor: channel.anchor });
      } catch (error) {
        this.emit('error:raised', { message: `could not publish "${publication.request.name}" again: ${(error as Error).message}` });
      }
    }
    for (const subscription of [...this.subscriptions.values()]) {
      if (subscription.info && subscription.info.subscriber === this.state?.hostId) continue;
      try {
        const { subscription: info } = await this.request('subscription:create', {
          channel: subscription.channel,
          maxLatencyMs: subscription.maxLatencyMs,
          pipeline: subscription.pipeline,
        });
        subscription.info = info;
        const id = this.channels.get(subscription.channel)?.id;
        if (id !== undefined) this.command({ type: 'subscribe', channel: id });
      } catch {
        this.subscriptions.delete(subscription.channel);
        this.emit('subscription:ended', { channel: subscription.channel });
      }
    }
    this.changed();
  }

  private onDisconnect(): void {
    this.setConnection('disconnected');
    this.links.removeAll();
    this.linkStats.clear();
    this.state = null;
    // The server forgot this host's channels and subscriptions with its connection; the engine
    // must too, or it would keep refreshing routes of a dead channel. `restore` recreates them.
    for (const publication of this.publications.values()) {
      if (publication.channel) this.command({ type: 'unpublish', channel: publication.channel.id });
      publication.channel = null;
    }
    for (const subscription of this.subscriptions.values()) {
      const id = this.channels.get(subscription.channel)?.id;
      if (id !== undefined) this.command({ type: 'unsubscribe', channel: id });
      subscription.info = null;
    }
    this.changed();
  }

  private applyState(state: CubeState): void {
    // Links still negotiating start over in the new epoch (their signals would be refused).
    if (this.state && state.epoch !== this.state.epoch) this.links.dropNegotiating();
    this.state = { ...state, ids: [...state.ids], neighbours: [...state.neighbours] };
    if (!this.cube || this.cube.k !== state.k || this.cube.n !== state.n) this.cube = new Cube(state.k, state.n);
    this.syncTopology();
  }

  private applyDelta(delta: CubeDelta): void {
    const next = this.state && applyCubeDelta(this.state, delta);
    if (!next) return;
    this.state = next;
    this.syncTopology();
  }

  private desiredLinks(): Set<string> {
    return new Set(this.state?.neighbours.map(([, hostId]) => hostId) ?? []);
  }

  /** Hand the engine the new view; open links to new neighbours, close links to former ones. */
  private syncTopology(): void {
    const state = this.state;
    if (!state) return;
    this.command({ type: 'view', view: { hostId: state.hostId, epoch: state.epoch, k: state.k, n: state.n, ids: state.ids, neighbours: state.neighbours, policy: state.policy } });
    this.links.sync(state.hostId);
    this.changed();
  }

  private onSignal(message: { from: string; epoch: number; data: SignalData }): void {
    if (!this.state || message.epoch !== this.state.epoch) return;
    try {
      this.links.onSignal(message.from, message.data);
    } catch (error) {
      this.emit('error:raised', { message: `bad signal from ${message.from}: ${(error as Error).message}` });
    }
  }

  // ---- channels and routes -------------------------------------------------------------------

  private onChannel(channel: ChannelInfo): void {
    // An update (the anchor moved) keeps the id: the engine's directory is unchanged.
    const added = this.channels.get(channel.name)?.id !== channel.id;
    this.channels.set(channel.name, channel);
    const publication = this.publications.get(channel.name);
    if (publication && channel.publisher === this.state?.hostId) {
      publication.channel = channel;
      this.command({ type: 'publish', channel: channel.id, anchor: channel.anchor });
    }
    if (this.subscriptions.has(channel.name)) this.command({ type: 'subscribe', channel: channel.id });
    if (added) this.sendDirectory();
    this.changed();
  }

  /** The engine carries only the channels the server lists. */
  private sendDirectory(): void {
    this.command({ type: 'channels', ids: [...this.channels.values()].map((c) => c.id) });
  }

  private onChannelRemoved(name: string): void {
    const channel = this.channels.get(name);
    this.channels.delete(name);
    this.sendDirectory();
    if (channel && this.subscriptions.delete(name)) {
      this.command({ type: 'unsubscribe', channel: channel.id });
      this.emit('subscription:ended', { channel: name });
    }
    this.changed();
  }

  private onSubscriptionUpdated(info: SubscriptionInfo): void {
    if (info.state !== 'ended') return;
    if (this.subscriptions.delete(info.channel)) this.emit('subscription:ended', { channel: info.channel });
    this.changed();
  }

  private onRouteRequest(request: RouteRequest): void {
    const channel = this.channels.get(request.channel);
    if (!channel) return;
    this.command({
      type: 'route:request',
      route: {
        subscriptionId: request.subscriptionId,
        channel: channel.id,
        target: request.target,
        maxLatencyMs: request.maxLatencyMs,
        pipeline: request.pipeline,
        policy: request.policy,
      },
    });
  }

  // ---- engine --------------------------------------------------------------------------------

  private channelById(id: number): ChannelInfo | undefined {
    for (const channel of this.channels.values()) if (channel.id === id) return channel;
    return undefined;
  }

  private command(command: EngineCommand, transfer: Transferable[] = []): void {
    if (this.closedFlag && command.type !== 'stop') return;
    this.worker.postMessage(command, transfer);
  }

  private onEngine(report: EngineReport): void {
    switch (report.type) {
      case 'chunk': {
        const channel = this.channelById(report.chunk.channel);
        if (channel && this.subscriptions.get(channel.name)?.variant === report.chunk.variant) this.emit('chunk:received', { channel, chunk: report.chunk });
        return;
      }
      case 'stats':
        this.linkStats = new Map(report.links.map((l) => [l.hostId, l]));
        this.forwarding = report.forwarding;
        this.engineCounters = { malformed: report.malformed, duplicates: report.duplicates };
        this.spas = report.spas;
        this.changed();
        return;
      case 'spa:died':
        // The server passes the news to the subscribers that wanted this pipeline's output.
        this.reportSpas();
        return;
      case 'link:failed':
        this.emit('link:failed', { hostId: report.hostId, reason: report.reason });
        this.reportLinks();
        return;
      case 'keyframe:request': {
        const channel = this.channelById(report.channel);
        if (channel) this.emit('keyframe:requested', { channel });
        return;
      }
      case 'route:established':
        return;
      case 'engine:error':
        this.emit('error:raised', { message: `engine: ${report.message}` });
        return;
      case 'coding:failed': {
        const session = this.coding.get(report.id);
        if (session) session.error = report.message;
        this.emit('error:raised', { message: `network coding of ${report.id} stopped: ${report.message}` });
        this.changed();
        return;
      }
    }
  }

  private reportLinks(): void {
    if (!this.state || !this.socket.connected || this.linkStats.size === 0) return;
    const links = [...this.linkStats.values()].map((l) => ({
      hostId: l.hostId,
      state: l.state,
      ...(l.rttMs !== undefined && { rttMs: l.rttMs }),
      throughputKbps: l.throughputKbps,
      lossRate: l.lossRate,
    }));
    this.request('link:report', { links }).catch(() => undefined);
  }

  private spasReported = false;

  /** What runs here as a branch point, for the server (observers, and subscribers' notices). */
  private reportSpas(): void {
    if (!this.state || !this.socket.connected || (this.spas.length === 0 && !this.spasReported)) return;
    this.spasReported = this.spas.length > 0;
    this.request('spa:report', { spas: this.namedSpas() }).catch(() => undefined);
  }

  /** The engine's pipeline reports, with channel names, as the server takes them. */
  private namedSpas(): HostSpa[] {
    return this.spas.flatMap(({ channel, variant, pipeline, state, stages, error }) => {
      const name = this.channelById(channel)?.name;
      if (!name) return [];
      return [
        {
          channel: name,
          variant,
          pipeline: [...pipeline],
          state,
          stages: stages.map((stage) => ({ name: stage.name, chunksIn: stage.chunksIn, meanMicros: stage.meanMicros, errors: stage.errors })),
          ...(error !== undefined && { error: error.slice(0, 300) }),
        },
      ];
    });
  }

  private onSpaFailed(failure: SpaFailure): void {
    const subscription = this.subscriptions.get(failure.channel);
    if (!subscription || subscription.info?.subscriptionId !== failure.subscriptionId) return;
    subscription.spaError = `${failure.pipeline.join(' > ')} stopped on ${failure.host}: ${failure.message}`;
    this.emit('spa:failed', failure);
    this.changed();
  }

  private reportSubscriptions(): void {
    if (!this.socket.connected) return;
    for (const s of this.subscriptions.values()) {
      if (!s.info || s.latencyMs === null) continue;
      this.request('subscription:report', { subscriptionId: s.info.subscriptionId, latencyMs: s.latencyMs, hops: s.hops ?? 0, framesDecoded: s.framesDecoded }).catch(() => undefined);
    }
  }

  private setConnection(state: ConnectionState): void {
    if (this.connection === state) return;
    this.connection = state;
    this.changed();
  }

  private changed(): void {
    this.emit('snapshot:changed', this.snapshot());
  }

  private assertOpen(): void {
    if (this.closedFlag) throw new PeerClosedError('this peer is closed');
  }
}
