import {
  decode,
  decodeRepairRequest,
  encode,
  encodeRepairRequest,
  encodeTimely,
  Flags,
  MalformedMessageError,
  FEC_BLOCK_SOURCES,
  MAX_PAYLOAD_BYTES,
  MessageType,
  NO_CHANNEL,
  NO_DESTINATION,
  PUBLISHED_VARIANT,
  RELIABLE_LANE,
  timelyFragmentPayload,
  UNRETRANSMITTED_LANE,
  type DecodedMessage,
  type Emulation,
  type MessageHeader,
  type RepairRequest,
} from '@cubecast/protocol';
import { BandwidthBucket, Link, LOW_WATER_BYTES, type LinkClock, type LossProtection } from './link.js';
import { FecBlocks, REPAIR_ASK_QUIET_MS, type FecProgress } from './fec-blocks.js';
import { DuplicateFilter } from './duplicate-filter.js';
import { RouteTable, type ChannelDemand } from './route-table.js';
import { Inbox } from './inbox.js';
import { Topology } from './topology.js';
import { cubeRouting, type RouteRequestInfo } from '../algorithms/cube-routing.js';
import { AlgorithmHost, type AlgorithmFactory } from './algorithm.js';
import { LinkMonitor } from './link-monitor.js';
import { PipelineHost, type HostedPipeline } from './pipeline-host.js';
import { chunkKey, Reassembler } from './reassembly.js';
import type { CubeView, EngineEnvironment, LinkTransport, SpaReport } from './types.js';

export interface EngineOptions {
  readonly pingIntervalMs: number;
  /** Silence after which a link stalls: no routes over it, its connection restarts ICE. */
  readonly stallAfterMs: number;
  /**
   * Silence after which a stalled link is given up and its connection made anew. Long enough
   * for an ICE restart to go through a signaling server that saw the same outage.
   */
  readonly failAfterMs: number;
  /** How often a publisher refreshes its routes; branches expire after 3 refreshes. */
  readonly refreshMs: number;
  readonly statsIntervalMs: number;
  /** How links protect timely data from loss (link.ts); a link's far end handles either. */
  readonly lossProtection: LossProtection;
  /** The overlay algorithm that lays routes (algorithm.ts); the paper's cube routing by default. */
  readonly algorithm?: AlgorithmFactory;
}

export const DEFAULT_ENGINE_OPTIONS: EngineOptions = {
  pingIntervalMs: 1000,
  stallAfterMs: 3500,
  failAfterMs: 15000,
  refreshMs: 2000,
  statsIntervalMs: 1000,
  lossProtection: 'fec',
};

/** A data message as it goes on the wire: a timely one padded to a packet (encodeTimely). */
function encodeData(header: MessageHeader, payload: Uint8Array): Uint8Array {
  return (header.flags & Flags.Timely) !== 0 ? encodeTimely(header, payload) : encode(header, payload);
}

/** The sooner of two waits, 0 meaning none. */
function soonest(a: number, b: number): number {
  return a === 0 ? b : b === 0 ? a : Math.min(a, b);
}

/**
 * A data message's header, built field by field in one order: headers made by spreading
 * decoded messages (which also carry a payload) take other shapes, and the codec and the
 * switch slow down on the mix (measured: about 20% of switched MB/s).
 */
function dataHeader(base: MessageHeader, fragmentIndex: number, fragmentCount: number): MessageHeader {
  return {
    type: MessageType.Data,
    flags: base.flags,
    hops: base.hops,
    channel: base.channel,
    sequence: base.sequence,
    source: base.source,
    destination: base.destination,
    latencyUs: base.latencyUs,
    fragmentIndex,
    fragmentCount,
  };
}

/** Repair `row` of block `block` of the chunk `chunk` is a fragment of. */
function repairHeader(chunk: MessageHeader, block: number, row: number): MessageHeader {
  return { ...dataHeader(chunk, block * FEC_BLOCK_SOURCES + row, chunk.fragmentCount), flags: chunk.flags | Flags.Repair };
}

/** An output's latency: its input's, plus the time the input spent in the pipeline here (µs, header-capped). */
function latencyAfter(input: { readonly header: MessageHeader; readonly arrival: number }, now: number): number {
  return Math.min(0xffffffff, Math.round(input.header.latencyUs + (now - input.arrival) * 1000));
}

const ONLY_PUBLISHED: ReadonlySet<number> = new Set([PUBLISHED_VARIANT]);
const NOTHING: ReadonlySet<number> = new Set();

const KEYFRAME_REQUEST_MIN_INTERVAL_MS = 300;

/**
 * iOverlay's message switch for one host: it owns the data channels to linked hosts and
 * moves every data-plane message. It runs in a dedicated worker in the browser and in plain
 * Node in tests: time, timers and transports come from outside.
 */
export class SwitchingEngine {
  private readonly topology = new Topology((hostId) => {
    const link = this.links.get(hostId);
    return link?.state === 'open' && link.rttMs !== undefined ? link.oneWayMs : Infinity;
  });
  private readonly links = new Map<string, Link>();
  private readonly upload: BandwidthBucket;
  /** iOverlay's per-node total bandwidth: the upload and the inbox both draw on it. */
  private readonly total: BandwidthBucket;
  private readonly inbox: Inbox;
  private readonly routeTable = new RouteTable();
  private readonly pipelines: PipelineHost;
  /** channel -> the host route setups for it last came from: keyframe requests go there. */
  private readonly upstream = new Map<number, string>();
  private readonly published = new Map<number, { anchor: number; sequence: number }>();
  /**
   * Where each channel this host stopped publishing left its numbers. A session resumed
   * publishes the same channel id again: its numbers go on, or every duplicate filter on the
   * way would take the new chunks for ones it has seen.
   */
  private readonly lastSequences = new Map<number, number>();
  private readonly subscribed = new Set<number>();
  private readonly duplicates = new DuplicateFilter();
  /** The channels of the tab's directory (the server's): data of any other is not ours to carry. */
  private directory = new Set<number>();
  private readonly lastKeyframeRequest = new Map<number, number>();
  /** Numbers this host's key frame requests: both copies of one carry the same. */
  private keyframeRequestNumber = 0;
  /** channel -> host downstream -> the number of the last key frame request it sent here. */
  private readonly keyframeRequestsHeard = new Map<number, Map<string, number>>();
  private readonly reassembler = new Reassembler();
  /** Whole chunks for the pipelines this host runs (their input is the published variant). */
  private readonly pipelineInput = new Reassembler();
  private readonly fec = new FecBlocks();
  private lossProtection: LossProtection;
  private readonly clock: LinkClock;
  private readonly monitor: LinkMonitor;
  private algorithm: AlgorithmHost;
  private algorithmFactory: AlgorithmFactory;
  private readonly refreshMs: number;
  private pumpTimer: unknown;
  /** The link an emulated upload last served: the next turn starts after it. */
  private lastServed: string | undefined;
  /** Set while some chunk from a peer is short of a block: when to ask for more repairs. */
  private repairAskTimer: unknown;
  private readonly intervals: unknown[] = [];
  /** `malformed` counts messages dropped unread too: bad bytes, unknown channels, over a bound. */
  private counters = { malformed: 0, duplicates: 0 };
  private closed = false;
  private emulation: Emulation = {};

  constructor(
    private readonly env: EngineEnvironment,
    options: EngineOptions = DEFAULT_ENGINE_OPTIONS,
  ) {
    this.clock = { now: () => env.now(), set: (cb, ms) => env.setTimer(cb, ms), clear: (h) => env.clearTimer(h) };
    this.lossProtection = options.lossProtection;
    this.total = new BandwidthBucket(undefined, env.now());
    this.upload = new BandwidthBucket(undefined, env.now(), this.total);
    this.inbox = new Inbox(this.clock, (hostId, bytes) => this.handle(hostId, bytes), this.total);
    this.monitor = new LinkMonitor({
      now: () => env.now(),
      stallAfterMs: options.stallAfterMs,
      failAfterMs: options.failAfterMs,
      stall: (link, reason) => this.stallLink(link, reason),
      fail: (link, reason) => this.failLink(link, reason),
    });
    this.pipelines = new PipelineHost(env.createPipeline?.bind(env), {
      output: (hosted, variant, payload, flags) => this.emitVariant(hosted, variant, payload, flags),
      merged: (hosted, payload, flags) => this.deliverMerged(hosted, payload, flags),
      died: ({ channel, variant, spec }, message) => this.env.emit({ type: 'spa:died', channel, variant, pipeline: spec.map((s) => s.spa), message }),
    });
    this.refreshMs = options.refreshMs;
    this.algorithmFactory = options.algorithm ?? cubeRouting;
    this.algorithm = this.startAlgorithm(this.algorithmFactory);
    this.every(options.pingIntervalMs, () => this.monitor.tick(this.links.values()));
    this.every(options.refreshMs, () => this.expireRoutes());
    this.every(options.statsIntervalMs, () => this.reportStats());
  }

  /**
   * Runs another overlay algorithm from now on (the room's, told at join): the routes the
   * previous one kept go with it; the branches it laid expire unless the new one lays them.
   */
  useAlgorithm(factory: AlgorithmFactory): void {
    if (factory === this.algorithmFactory) return;
    // Made first: a factory that throws leaves the running algorithm as it was.
    const next = this.startAlgorithm(factory);
    this.algorithm.close();
    this.algorithmFactory = factory;
    this.algorithm = next;
  }

  private startAlgorithm(factory: AlgorithmFactory): AlgorithmHost {
    const host = new AlgorithmHost(factory({ refreshMs: this.refreshMs }), this.clock, (error) => this.reportError(error));
    host.start({
      now: () => this.env.now(),
      send: (to, header, payload) => this.sendForAlgorithm(to, header, payload),
      linkedHosts: () => [...this.links.values()].filter((link) => link.state === 'open').map((link) => link.hostId),
      topology: this.topology,
      link: (hostId) => this.links.get(hostId),
      anchorOf: (channel) => this.published.get(channel)?.anchor,
      variantOf: (pipeline) => this.pipelines.learn(pipeline),
      setBranch: (channel, subscriptionId, branch) => this.routeTable.setBranch(channel, subscriptionId, branch && { ...branch, expiresAt: this.softStateExpiry() }),
      setLocal: (channel, subscriptionId, route) => this.routeTable.setLocal(channel, subscriptionId, route && { ...route, expiresAt: this.softStateExpiry() }),
      accept: (header, payload, from) => this.acceptFromAlgorithm(header, payload, from),
      bandwidthKbps: () => this.emulation.totalKbps ?? this.emulation.upKbps,
      setUpstream: (channel, hostId) => (hostId === undefined ? this.upstream.delete(channel) : this.upstream.set(channel, hostId)),
      established: (channel, subscriptionId, hops, latencyUs) => this.env.emit({ type: 'route:established', channel, subscriptionId, hops, latencyUs }),
      refused: () => this.counters.malformed++,
      reportError: (error) => this.reportError(error),
    });
    return host;
  }

  /** Forwarding state an algorithm sets lives 3 refreshes unless set again: one lost refresh costs nothing. */
  private softStateExpiry(): number {
    return this.env.now() + 3 * this.refreshMs;
  }

  /** A periodic task; a round that throws is reported and the next one still runs. */
  private every(ms: number, task: () => void): void {
    const loop = () => {
      if (this.closed) return;
      this.intervals[index] = this.env.setTimer(loop, ms);
      this.attempt(task);
    };
    const index = this.intervals.length;
    this.intervals.push(this.env.setTimer(loop, ms));
  }

  /** Runs one unit of periodic work; what it throws costs that unit, reported, not the engine. */
  private attempt(work: () => void): void {
    try {
      work();
    } catch (error) {
      this.reportError(error);
    }
  }

  private reportError(error: unknown): void {
    this.env.emit({ type: 'engine:error', message: error instanceof Error ? error.message : String(error) });
  }

  // ---- control plane ------------------------------------------------------------------------

  /**
   * The channels the tab's directory lists (besides those published or subscribed here).
   * Routes, data and key frame requests of any other channel are dropped unread, and state
   * kept for channels that left the directory goes.
   */
  setChannels(ids: Iterable<number>): void {
    this.directory = new Set(ids);
    for (const channel of this.channelsWithState()) {
      if (this.knows(channel)) continue;
      this.duplicates.forgetChannel(channel);
      this.routeTable.forgetChannel(channel);
      this.upstream.delete(channel);
      this.lastKeyframeRequest.delete(channel);
      this.keyframeRequestsHeard.delete(channel);
    }
  }

  /** Channels this host keeps any state for: what `setChannels` may have to forget. */
  private channelsWithState(): Set<number> {
    return new Set([...this.duplicates.channels(), ...this.routeTable.channels(), ...this.upstream.keys(), ...this.lastKeyframeRequest.keys(), ...this.keyframeRequestsHeard.keys()]);
  }

  private knows(channel: number): boolean {
    return this.directory.has(channel) || this.published.has(channel) || this.subscribed.has(channel);
  }

  setView(view: CubeView): void {
    // Branches toward hosts that are no longer neighbours are dead; the next refresh
    // (brought forward) lays routes over the new topology.
    const linked = this.topology.set(view);
    this.routeTable.dropBranchesWhere((nextHost) => !linked.has(nextHost));
    this.algorithm.deliver({ type: 'view', linked });
  }

  setEmulation(emulation: Emulation): void {
    this.upload.setRate(emulation.upKbps);
    this.inbox.setRate(emulation.downKbps);
    this.total.setRate(emulation.totalKbps);
    this.emulation = emulation;
    this.monitor.setPosition(emulation.position, this.links.values());
  }

  addLink(hostId: string, transport: LinkTransport): void {
    this.links.get(hostId)?.close();
    this.links.set(hostId, new Link(hostId, transport, this.clock));
    // A new link may be to the host restarted, numbering its requests afresh.
    this.forgetKeyframeRequestsFrom(hostId);
  }

  linkOpened(hostId: string): void {
    const link = this.links.get(hostId);
    if (!link || link.state === 'failed') return;
    link.open(this.env.now());
    this.monitor.ping(link);
    this.algorithm.deliver({ type: 'link:up', hostId });
  }

  /** The transport closed or errored. */
  linkClosed(hostId: string, reason: string): void {
    const link = this.links.get(hostId);
    if (!link || link.state === 'failed') return;
    this.failLink(link, reason);
  }

  /** The control plane dropped the link (the host is no longer a neighbour). */
  removeLink(hostId: string): void {
    const link = this.links.get(hostId);
    if (!link) return;
    link.close();
    this.links.delete(hostId);
    this.forgetKeyframeRequestsFrom(hostId);
    this.dropBranchesVia(hostId);
  }

  private forgetKeyframeRequestsFrom(hostId: string): void {
    for (const heard of this.keyframeRequestsHeard.values()) heard.delete(hostId);
  }

  bufferLow(hostId: string): void {
    if (this.links.has(hostId)) this.pump();
  }

  publish(channel: number, anchor: number): void {
    const existing = this.published.get(channel);
    this.published.set(channel, { anchor, sequence: existing?.sequence ?? this.lastSequences.get(channel) ?? 0 });
  }

  unpublish(channel: number): void {
    const publication = this.published.get(channel);
    if (publication) this.lastSequences.set(channel, publication.sequence);
    this.published.delete(channel);
    this.algorithm.deliver({ type: 'channel:unpublished', channel });
    this.routeTable.forgetChannel(channel, 'branches');
  }

  /** The server asks this publisher to set up (or move) a route: do it now, then keep it alive. */
  requestRoute(route: RouteRequestInfo): void {
    this.algorithm.deliver({ type: 'route:request', route });
  }

  cancelRoute(subscriptionId: string): void {
    this.algorithm.deliver({ type: 'route:cancel', subscriptionId });
  }

  /** An observer's two integers for the algorithm (iOverlay's algorithm-specific control message). */
  controlAlgorithm(a: number, b: number): void {
    this.algorithm.deliver({ type: 'control', a, b });
  }

  subscribe(channel: number): void {
    this.subscribed.add(channel);
  }

  unsubscribe(channel: number): void {
    this.subscribed.delete(channel);
  }

  /** A subscriber's decoder needs a key frame: ask upstream, hop by hop, to the publisher. */
  requestKeyframe(channel: number): void {
    const now = this.env.now();
    if (now - (this.lastKeyframeRequest.get(channel) ?? -Infinity) < KEYFRAME_REQUEST_MIN_INTERVAL_MS) return;
    this.lastKeyframeRequest.set(channel, now);
    if (this.published.has(channel)) {
      this.env.emit({ type: 'keyframe:request', channel });
      return;
    }
    const upstream = this.upstream.get(channel);
    const link = upstream ? this.links.get(upstream) : undefined;
    if (!link || link.state !== 'open') return;
    // Twice: on the reliable lane, and on the lane that never retransmits. Upstream carries
    // too little to trigger SCTP's fast retransmit, so a lost request waits out a retransmission
    // timeout (hundreds of ms in Chromium) while the subscriber's picture stays frozen; the
    // other copy is there a round trip after the loss. Both carry this host's request number:
    // the host upstream takes whichever comes first and drops the other (firstHeard).
    this.keyframeRequestNumber = (this.keyframeRequestNumber + 1) >>> 0;
    const request = encode({ ...this.header(MessageType.KeyframeRequest, channel, 0), sequence: this.keyframeRequestNumber });
    link.toWire(request, now, UNRETRANSMITTED_LANE);
    link.toWire(request, now);
  }

  /**
   * A publisher's chunk: split into fragments that fit a data-channel message, stamped with
   * the channel's next sequence number, and switched as if it had just arrived.
   */
  sendChunk(channel: number, flags: number, payload: Uint8Array): number {
    const publication = this.published.get(channel);
    if (!publication) throw new Error(`channel ${channel} is not published here`);
    const sequence = publication.sequence;
    publication.sequence = (sequence + 1) >>> 0;
    const base = { ...this.header(MessageType.Data, channel, flags), sequence, source: publication.anchor };
    this.originate(base, payload, this.env.now());
    return sequence;
  }

  /**
   * Fragments a chunk this host originates (published here, or a pipeline's output) and
   * switches each fragment as if it had just arrived, at `arrival`.
   */
  private originate(base: MessageHeader, payload: Uint8Array, arrival: number): void {
    // With FEC, timely chunks go in packet-sized fragments: a loss costs one fragment, which a
    // repair rebuilds (SCTP retransmits parts of a message; FEC can only rebuild whole ones).
    const packetSized = (base.flags & Flags.Timely) !== 0 && this.lossProtection === 'fec';
    const size = packetSized ? timelyFragmentPayload(payload.byteLength) : MAX_PAYLOAD_BYTES;
    const count = Math.max(1, Math.ceil(payload.byteLength / size));
    if (count > 256) throw new RangeError(`a chunk of ${payload.byteLength} bytes needs more than 256 fragments`);
    const demand = this.demand(base.channel, arrival);
    for (let index = 0; index < count; index++) {
      const fragment = payload.subarray(index * size, (index + 1) * size);
      const header = dataHeader(base, index, count);
      // A pipeline's output may also reach this host from another branch point (routes
      // of different subscribers can cross): whichever copy comes second is dropped.
      if (!this.duplicates.isFirstCopy(header.channel, header.destination, header.sequence, index)) continue;
      this.switchFragment(header, fragment, packetSized ? encodeTimely(header, fragment) : encode(header, fragment), arrival, null, demand);
    }
  }

  /** Bytes waiting or in flight toward the channel's next hops (the worst link): for senders that pace themselves. */
  backlogBytes(channel: number): number {
    let worst = 0;
    for (const hostId of this.demand(channel).next.keys()) worst = Math.max(worst, this.links.get(hostId)?.backlogBytes ?? 0);
    return worst;
  }

  /** Diagnostics: puts raw bytes on a link, bypassing every check (tests of bad input). */
  sendRaw(hostId: string, bytes: Uint8Array): void {
    this.links.get(hostId)?.toWire(bytes, this.env.now());
  }

  close(): void {
    this.closed = true;
    for (const handle of this.intervals) this.env.clearTimer(handle);
    for (const timer of [this.pumpTimer, this.repairAskTimer]) if (timer !== undefined) this.env.clearTimer(timer);
    this.algorithm.close();
    this.inbox.close();
    for (const link of this.links.values()) link.close();
    this.links.clear();
    this.pipelines.close();
  }

  // ---- receiving -----------------------------------------------------------------------------

  /** How every link protects timely data from now on (the loss benchmark compares them). */
  setLossProtection(protection: LossProtection): void {
    this.lossProtection = protection;
  }

  /** A message from a linked host, on one of its lanes, paced through the emulated download bandwidth. */
  receive(hostId: string, bytes: Uint8Array, lane = RELIABLE_LANE): void {
    const now = this.env.now();
    const link = this.links.get(hostId);
    link?.noteReceived(bytes.byteLength, now, lane);
    if (link?.recover(now)) {
      this.env.emit({ type: 'link:recovered', hostId });
      this.algorithm.deliver({ type: 'link:up', hostId });
    }
    this.inbox.receive(hostId, bytes, now);
  }

  private handle(from: string, bytes: Uint8Array): void {
    let message: DecodedMessage;
    try {
      message = decode(bytes).message;
    } catch (error) {
      if (!(error instanceof MalformedMessageError)) throw error;
      this.counters.malformed++;
      return;
    }
    const link = this.links.get(from);
    if (!link) return;
    const channelless = message.type === MessageType.Ping || message.type === MessageType.Pong || (message.type === MessageType.Algorithm && message.channel === NO_CHANNEL);
    if (!channelless && !this.knows(message.channel)) {
      this.counters.malformed++;
      return;
    }
    switch (message.type) {
      case MessageType.Data: {
        // One clock read and one demand digest serve the check and the switching.
        const now = this.env.now();
        const demand = this.demand(message.channel, now);
        // An algorithm that takes data decides where it goes: no branch here is no reason to drop it.
        if (!this.algorithm.algorithm.receivesData && !this.carries(message.channel, message.destination, demand)) {
          this.counters.malformed++;
          return;
        }
        if ((message.flags & Flags.Repair) !== 0) {
          this.useFec(this.fec.addRepair(message, message.payload, now, from), message, now, from, demand);
          return;
        }
        if (!this.duplicates.isFirstCopy(message.channel, message.destination, message.sequence, message.fragmentIndex)) {
          this.counters.duplicates++;
          return;
        }
        this.switchFragment(message, message.payload, bytes, now, from, demand);
        return;
      }
      case MessageType.RouteSetup:
      case MessageType.RoutePrune:
        // Key frame requests go back the way route setups came.
        if (message.type === MessageType.RouteSetup) this.upstream.set(message.channel, from);
        this.algorithm.deliver({ type: 'protocol', from, header: message, payload: message.payload });
        return;
      case MessageType.Ping:
      case MessageType.Pong:
        this.monitor.receive(link, message);
        return;
      case MessageType.KeyframeRequest:
        if (this.firstHeard(from, message)) this.requestKeyframe(message.channel);
        return;
      case MessageType.RepairRequest:
        this.resendRepairs(link, message);
        return;
      case MessageType.Algorithm:
        this.algorithm.deliver({ type: 'protocol', from, header: message, payload: message.payload });
        return;
    }
  }

  // ---- switching -----------------------------------------------------------------------------

  /**
   * Switches one message of a channel's variant (the header's destination): delivers it here
   * if a local subscription wants that variant; queues one copy per next-hop host whose
   * branches want it (never back to where it came from); and, where this host is a branch
   * point (a next hop, or a local subscription, wants only a pipeline's output), feeds the
   * whole chunk to that pipeline instead. Each copy is stamped as it leaves: hops + 1,
   * latency + the time spent here + the link's one-way latency.
   */
  private forward(
    header: MessageHeader,
    payload: Uint8Array,
    bytes: Uint8Array,
    arrival: number,
    from: string | null,
    now = arrival,
    demand = this.demand(header.channel, now),
  ): void {
    const variant = header.destination;
    const wantedHere = this.localVariants(header.channel, demand);
    // A publisher does not deliver its own chunks to itself; a pipeline's outputs are new here.
    if (wantedHere.has(variant) && (from !== null || variant !== PUBLISHED_VARIANT)) {
      const whole = this.reassembler.add(header, payload, arrival);
      const split = this.pipelines.baseVariant(variant);
      if (whole && this.pipelines.isSplit(split)) this.pipelines.feed(header, split, whole.payload, now, 'merge');
      else if (whole) this.env.emit({ type: 'chunk', chunk: whole });
    }
    const next = this.nextHostsFor(variant, demand, from);
    const targets = next.targets;
    let pipelines = next.pipelines;
    const stages = next.stages;
    if (variant === PUBLISHED_VARIANT) for (const wanted of wantedHere) if (wanted !== PUBLISHED_VARIANT) (pipelines ??= new Set()).add(this.pipelines.baseVariant(wanted));
    if (targets.length > 0) {
      // Only copies that leave need the group their link may drop them by.
      const group = chunkKey(header);
      let remaining = targets.length;
      for (const hostId of targets) {
        remaining--;
        const link = this.links.get(hostId);
        if (!link || link.state !== 'open') continue;
        const boundMs = (header.flags & Flags.Timely) !== 0 ? demand.boundMs.get(hostId) : undefined;
        const broken = link.enqueue({
          // Each copy is stamped for its own link; the last one can take the buffer itself (it
          // is this host's: fresh from the channel or from encode, and reassembly copied out).
          bytes: remaining === 0 ? bytes : bytes.slice(),
          flags: header.flags,
          group,
          channel: header.channel,
          forwarded: { hops: header.hops, latencyUs: header.latencyUs, arrival, ...(boundMs !== undefined && { deadlineUs: boundMs * 1000 }) },
        });
        // A dropped frame others depend on: downstream needs a key frame; ask now, not when
        // each subscriber finds the gap.
        if (broken !== undefined) this.requestKeyframe(broken);
      }
      this.pump();
    }
    if (pipelines || stages) {
      const whole = this.pipelineInput.add(header, payload, now);
      if (whole) for (const wanted of pipelines ?? []) this.pipelines.feed(header, wanted, whole.payload, now, 'branch');
      if (whole) for (const wanted of stages ?? []) this.pipelines.feed(header, wanted, whole.payload, now, 'stage');
    }
  }

  /**
   * Where a message of `variant` goes from here: the next hosts that get it as it is (never
   * back to `from`), the pipelines here that take it in (both paths of a split stream come
   * from one split pipeline), and the stage pipelines that take it in to make a variant a next
   * host wants (a pipeline placed across hosts: this host runs the stages past `variant`'s).
   */
  private nextHostsFor(variant: number, demand: ChannelDemand, from: string | null): { targets: string[]; pipelines: Set<number> | undefined; stages: Set<number> | undefined } {
    const targets: string[] = [];
    // Made only when needed: this runs for every message switched.
    let pipelines: Set<number> | undefined;
    let stages: Set<number> | undefined;
    for (const [hostId, variants] of demand.next) {
      if (hostId === from) continue;
      if (variant !== PUBLISHED_VARIANT) {
        // A host that also needs the published stream gets that, and branches itself.
        if (variants.size !== 1) continue;
        const wanted = variants.values().next().value!;
        if (wanted === variant) targets.push(hostId);
        else if (this.pipelines.stagesFrom(variant, wanted)) (stages ??= new Set()).add(wanted);
      } else if (variants.size === 1 && !variants.has(PUBLISHED_VARIANT)) {
        (pipelines ??= new Set()).add(this.pipelines.baseVariant(variants.values().next().value!));
      } else {
        targets.push(hostId);
      }
    }
    return { targets, pipelines, stages };
  }

  /** Switches a source fragment; a timely one also counts toward FEC here (repairs in, repairs out). */
  private switchFragment(header: MessageHeader, payload: Uint8Array, bytes: Uint8Array, arrival: number, from: string | null, demand: ChannelDemand): void {
    if (this.algorithm.algorithm.receivesData) {
      // The algorithm sees it first: it may hold it, and then it goes on only when released
      // (with the demand of that moment).
      this.algorithm.deliver({ type: 'data', from, header, payload }, () => {
        const now = this.env.now();
        this.forward(header, payload, bytes, arrival, from, now, now === arrival ? demand : this.demand(header.channel, now));
      });
    } else {
      this.forward(header, payload, bytes, arrival, from, arrival, demand);
    }
    if ((header.flags & Flags.Timely) !== 0) this.useFec(this.fec.addSource(header, payload, arrival, from ?? undefined), header, arrival, from, demand);
  }

  /**
   * What FEC made of an arrival: rebuilt sources are switched as if they had arrived (the
   * later real copy, if SCTP or another path brings one, is then a duplicate); a block now
   * whole here gets repairs toward each next host whose link protects by FEC, as many as
   * that link's measured loss calls for.
   */
  private useFec(progress: FecProgress, header: MessageHeader, arrival: number, from: string | null, demand: ChannelDemand): void {
    if (from !== null) this.watchForShortBlocks();
    for (const { header: rebuilt, payload } of progress.recovered) {
      if (!this.duplicates.isFirstCopy(rebuilt.channel, rebuilt.destination, rebuilt.sequence, rebuilt.fragmentIndex)) continue;
      this.switchFragment(rebuilt, payload, encodeTimely(rebuilt, payload), arrival, from, demand);
    }
    if (progress.complete.length === 0 || this.lossProtection !== 'fec') return;
    const protectedLinks: { link: Link; repairs: number; deadlineUs: number }[] = [];
    for (const hostId of this.nextHostsFor(header.destination, demand, from).targets) {
      const link = this.links.get(hostId);
      const boundMs = demand.boundMs.get(hostId);
      if (link?.state === 'open' && boundMs !== undefined) protectedLinks.push({ link, repairs: 0, deadlineUs: boundMs * 1000 });
    }
    if (protectedLinks.length === 0) return;
    const group = chunkKey(header);
    for (const block of progress.complete) {
      for (const target of protectedLinks) target.repairs = target.link.repairsFor(block.sources.length);
      const payloads = FecBlocks.repairs(block, Math.max(...protectedLinks.map((t) => t.repairs)));
      payloads.forEach((repair, row) => {
        const repairMessage = repairHeader(header, block.block, row);
        const bytes = encodeTimely(repairMessage, repair);
        for (const { link, repairs, deadlineUs } of protectedLinks) {
          if (row >= repairs) continue;
          link.enqueue({ bytes: bytes.slice(), flags: repairMessage.flags, group, channel: header.channel, forwarded: { hops: header.hops, latencyUs: header.latencyUs, arrival, deadlineUs } });
        }
      });
    }
    this.pump();
  }

  /**
   * A chunk from a peer arrived in part: make sure someone looks, once it has been quiet, for
   * blocks its repairs did not rebuild. Without this, a block that lost more than its repairs
   * waits for SCTP, which notices a loss only when later packets arrive (at a frame's end, the
   * next frame, 33 ms on) or a retransmission timeout passes, on every hop that lost it.
   */
  private watchForShortBlocks(): void {
    if (this.repairAskTimer !== undefined || this.lossProtection !== 'fec' || this.closed) return;
    this.repairAskTimer = this.env.setTimer(() => this.askForRepairs(), REPAIR_ASK_QUIET_MS);
  }

  /** Asks the previous hop of each chunk short of a block for more repair rows of it (lane 1: a late answer is no answer). */
  private askForRepairs(): void {
    this.repairAskTimer = undefined;
    const now = this.env.now();
    const { asks, nextAt } = this.fec.due(now);
    for (const { from, header, request } of asks) {
      const link = this.links.get(from);
      if (link?.state === 'open') link.toWire(encode(header, encodeRepairRequest(request)), now, UNRETRANSMITTED_LANE);
    }
    if (nextAt !== undefined && !this.closed) this.repairAskTimer = this.env.setTimer(() => this.askForRepairs(), Math.max(1, nextAt - now));
  }

  /**
   * A next hop asks for more repairs of a block: rows it lacks, coded from the block if it is
   * whole here, stamped like the chunk's other messages (its latency so far, plus the time it
   * has been here) so the next hop's deadline check holds. A host that is not where this
   * channel goes from here gets nothing; nor does a block this host is itself short of (its
   * own ask upstream will make it whole, and the rebuilt sources go on as they come).
   */
  private resendRepairs(link: Link, message: DecodedMessage): void {
    let request: RepairRequest;
    try {
      request = decodeRepairRequest(message.payload);
    } catch {
      this.counters.malformed++;
      return;
    }
    const now = this.env.now();
    const boundMs = this.demand(message.channel, now).boundMs.get(link.hostId);
    if (boundMs === undefined || link.state !== 'open') return;
    const count = link.repairsToResend(request.wanted);
    const resent = count > 0 ? this.fec.resend(message, request.rowsHeld, count) : undefined;
    if (!resent) return;
    link.noteRepairsResent(resent.repairs.length);
    const { first } = resent;
    const block = message.fragmentIndex / FEC_BLOCK_SOURCES;
    for (const { row, payload } of resent.repairs) {
      const header = repairHeader(first.header, block, row);
      link.enqueue({ bytes: encodeTimely(header, payload), flags: header.flags, group: chunkKey(header), channel: header.channel, forwarded: { hops: first.header.hops, latencyUs: first.header.latencyUs, arrival: first.arrival, deadlineUs: boundMs * 1000 } });
    }
    this.pump();
  }

  private demand(channel: number, now = this.env.now()): ChannelDemand {
    return this.routeTable.demand(channel, now);
  }

  /** The variants subscriptions ending here want (the published one if routes have not said). */
  private localVariants(channel: number, demand = this.demand(channel)): ReadonlySet<number> {
    if (!this.subscribed.has(channel)) return NOTHING;
    const { local } = demand;
    return local.size > 0 ? local : ONLY_PUBLISHED;
  }

  // ---- pipelines (SPAs at branch points) ------------------------------------------------------

  /** A pipeline's output leaves this host as a chunk of its own variant, numbered here. */
  private emitVariant(hosted: HostedPipeline, variant: number, payload: Uint8Array, flags: number): void {
    const last = hosted.last;
    if (!last || this.closed) return;
    // An output takes its input's sequence number, so two branch points making the same
    // variant of the same chunk make the same message, and hosts where their routes cross
    // keep one. (A second output from one input takes the next number.)
    const sequence = hosted.lastSequence === last.header.sequence ? (last.header.sequence + 1) >>> 0 : last.header.sequence;
    hosted.lastSequence = sequence;
    const now = this.env.now();
    const latencyUs = latencyAfter(last, now);
    const base: MessageHeader = { ...last.header, flags, sequence, destination: variant, latencyUs, fragmentIndex: 0, fragmentCount: 1 };
    this.originate(base, payload, now);
  }

  /** A merged chunk of a split stream, for the subscription here that asked for it. */
  private deliverMerged(hosted: HostedPipeline, payload: Uint8Array, flags: number): void {
    const last = hosted.last;
    if (!last || this.closed) return;
    const sequence = ((hosted.lastSequence ?? -1) + 1) >>> 0;
    hosted.lastSequence = sequence;
    const latencyUs = latencyAfter(last, this.env.now());
    this.env.emit({ type: 'chunk', chunk: { channel: hosted.channel, variant: hosted.variant, sequence, flags, payload, latencyUs, hops: last.header.hops } });
  }

  /** Stops pipelines no branch or local subscription here wants any more, and forgets specs nothing names. */
  private closeUnwantedPipelines(): void {
    const wanted = (hosted: HostedPipeline) => {
      const serves = (variant: number) => this.pipelines.makes(hosted, variant);
      const wantedHere = [...this.localVariants(hosted.channel)].some(serves);
      if (hosted.role === 'merge') return wantedHere;
      return wantedHere || [...this.demand(hosted.channel).next.values()].some((variants) => variants.size === 1 && serves(variants.values().next().value!));
    };
    this.pipelines.closeUnwanted(wanted, this.routeTable.variants());
  }

  private pump(): void {
    if (this.pumpTimer !== undefined) return;
    const now = this.env.now();
    let retry = 0;
    if (!this.upload.limited) {
      for (const link of this.links.values()) retry = soonest(retry, link.pump(now, this.upload));
    } else {
      // An emulated upload is shared as real flows share one: a message from each link in
      // turn, the turns going on from the link after the last served. Drained one link after
      // another (or each time from the first), the first links would take it all.
      const links = [...this.links.values()];
      const after = links.findIndex((link) => link.hostId === this.lastServed) + 1;
      let turn = [...links.slice(after), ...links.slice(0, after)];
      while (turn.length > 0) {
        turn = turn.filter((link) => {
          const before = link.queued;
          const wait = link.pump(now, this.upload, 1);
          retry = soonest(retry, wait);
          if (link.queued < before) this.lastServed = link.hostId;
          return wait === 0 && link.queued > 0 && link.queued < before;
        });
      }
    }
    if (retry > 0) {
      this.pumpTimer = this.env.setTimer(() => {
        this.pumpTimer = undefined;
        this.pump();
      }, retry);
    }
  }

  /**
   * Whether a message of this variant has anywhere to go from here: a local subscription, a
   * branch, or (the published variant) a pipeline here. Others are dropped before any state
   * is made for them.
   */
  private carries(channel: number, variant: number, demand: ChannelDemand): boolean {
    const wantedHere = this.localVariants(channel, demand);
    if (wantedHere.has(variant)) return true;
    if (variant === PUBLISHED_VARIANT) return demand.next.size > 0 || wantedHere.size > 0;
    for (const variants of demand.next.values()) for (const wanted of variants) if (wanted === variant || this.pipelines.stagesFrom(variant, wanted)) return true;
    return false;
  }

  // ---- routes --------------------------------------------------------------------------------

  /** Frees expired soft state, and the pipelines no route names any more. */
  private expireRoutes(): void {
    this.routeTable.expire(this.env.now());
    this.closeUnwantedPipelines();
  }

  /** The algorithm's one sending call: protocol messages straight onto the reliable lane, data through the link's queue. */
  private sendForAlgorithm(to: string, header: MessageHeader, payload: Uint8Array): boolean {
    const link = this.links.get(to);
    if (link?.state !== 'open') return false;
    const now = this.env.now();
    if (header.type !== MessageType.Data) {
      link.toWire(encode(header, payload), now);
      return true;
    }
    link.enqueue({ bytes: encodeData(header, payload), flags: header.flags, group: chunkKey(header), channel: header.channel, forwarded: { hops: header.hops, latencyUs: header.latencyUs, arrival: now } });
    this.pump();
    return true;
  }

  /** A data message the algorithm made goes on as if it had arrived from `from`, unless this host has had it. */
  private acceptFromAlgorithm(header: MessageHeader, payload: Uint8Array, from: string): boolean {
    if (header.type !== MessageType.Data || !this.knows(header.channel)) return false;
    if (!this.duplicates.isFirstCopy(header.channel, header.destination, header.sequence, header.fragmentIndex)) return false;
    this.forward(header, payload, encodeData(header, payload), this.env.now(), from);
    return true;
  }

  private dropBranchesVia(hostId: string): void {
    this.routeTable.dropBranchesWhere((nextHost) => nextHost === hostId);
    for (const [channel, upstream] of this.upstream) if (upstream === hostId) this.upstream.delete(channel);
  }

  // ---- failures and stats --------------------------------------------------------------------

  private stallLink(link: Link, reason: string): void {
    link.stall();
    this.dropBranchesVia(link.hostId);
    this.env.emit({ type: 'link:stalled', hostId: link.hostId, reason });
    this.algorithm.deliver({ type: 'link:down', hostId: link.hostId, reason });
  }

  private failLink(link: Link, reason: string): void {
    link.close();
    this.dropBranchesVia(link.hostId);
    this.env.emit({ type: 'link:failed', hostId: link.hostId, reason });
    this.algorithm.deliver({ type: 'link:down', hostId: link.hostId, reason });
  }

  private reportStats(): void {
    const now = this.env.now();
    this.reassembler.expire(now);
    this.pipelineInput.expire(now);
    // Read once: a link's throughput is over the interval since the last read.
    const links = [...this.links.values()].map((link) => link.stats(now));
    this.algorithm.deliver({ type: 'measurement', links });
    this.env.emit({
      type: 'stats',
      links,
      malformed: this.counters.malformed,
      duplicates: this.counters.duplicates,
      forwarding: [...this.routeTable.branchChannels()].map((channel) => ({ channel, to: this.nextHops(channel) })).filter((f) => f.to.length > 0),
      spas: this.spaReports(),
    });
    for (const link of this.links.values()) if (link.inTransit < LOW_WATER_BYTES && link.queued > 0) this.pump();
  }

  private header(type: MessageType, channel: number, flags: number): MessageHeader {
    return { type, flags, hops: 0, channel, sequence: 0, source: 0, destination: NO_DESTINATION, latencyUs: 0, fragmentIndex: 0, fragmentCount: 1 };
  }

  /**
   * Whether this key frame request is news: not the second copy of one already heard, nor one
   * overtaken by a later request from the same host (serial-number order, as the numbers wrap).
   * A second copy coming a retransmission later would otherwise cost another key frame.
   */
  private firstHeard(from: string, request: MessageHeader): boolean {
    let heard = this.keyframeRequestsHeard.get(request.channel);
    if (!heard) this.keyframeRequestsHeard.set(request.channel, (heard = new Map()));
    const last = heard.get(from);
    const ahead = last === undefined ? 1 : (request.sequence - last) >>> 0;
    if (ahead === 0 || ahead >= 2 ** 31) return false;
    heard.set(from, request.sequence);
    return true;
  }

  /** What the engine holds per key a peer could invent: each has a bound (diagnostics, tests). */
  footprint(): { dedupWindows: number; pipelineSpecs: number; partialChunks: number; channels: number; held: number } {
    return {
      dedupWindows: this.duplicates.windows,
      held: this.algorithm.heldCount,
      pipelineSpecs: this.pipelines.specCount,
      partialChunks: this.reassembler.size + this.pipelineInput.size,
      channels: this.channelsWithState().size,
    };
  }

  /** The pipelines this host runs, with their stages' per-chunk times. */
  spaReports(): SpaReport[] {
    return this.pipelines.reports();
  }


  /** For tests and the stats: the hosts this host forwards a channel to. */
  nextHops(channel: number): string[] {
    return [...this.demand(channel).next.keys()];
  }

  linkRtt(hostId: string): number | undefined {
    return this.links.get(hostId)?.rttMs;
  }
}

