import { emulatedOneWayDelayMs, FEC_MAX_REPAIRS, Flags, patchForwarded, RELIABLE_LANE, repairCount, temporalLayer, timelyLane, UNRETRANSMITTED_LANE } from '@cubecast/protocol';
import type { LinkState, LinkStats, LinkTransport } from './types.js';

/**
 * How a host protects the timely data it sends. Both send it on the lanes SCTP retransmits for
 * as long as the deadline allows; 'fec' (the default) adds repairs sized to each link's
 * measured loss, which rebuild a lost fragment with no wait for the loss to be noticed.
 */
export type LossProtection = 'fec' | 'retransmit';

/** A message waiting to leave on a link. */
export interface Outgoing {
  readonly bytes: Uint8Array;
  readonly flags: number;
  /** Groups the fragments of one chunk, so a drop takes the whole chunk. */
  readonly group: string;
  /** The data channel id of the chunk (for the key frame its loss calls for). */
  readonly channel: number;
  /** A data message switched here: stamped as it leaves, and timely data kept to its deadline. */
  readonly forwarded?: Forwarded;
}

export interface Forwarded {
  /** The header's hops and latency as it arrived (or was made), and when. */
  readonly hops: number;
  readonly latencyUs: number;
  readonly arrival: number;
  /**
   * Timely data: the latency past which no subscriber down this link can use it. It goes
   * then, unsent (a key frame excepted, on the lane that never retransmits); before, it takes
   * the lane whose retransmission bound the time left allows.
   */
  readonly deadlineUs?: number;
}

/**
 * Which queued chunk goes first when a queue overflows (lower first), by what depends on it;
 * Infinity: never (key frames, untimely data).
 */
function dropRank(flags: number): number {
  if ((flags & Flags.Key) !== 0) return Infinity;
  if ((flags & Flags.Droppable) !== 0) return 0;
  if ((flags & Flags.Timely) === 0) return Infinity;
  return temporalLayer(flags) >= 1 ? 1 : 2;
}

/**
 * Shared by all links of a host: the emulated up (or down) bandwidth, a token bucket. One
 * may draw on a `shared` bucket as well (the host's total, for what comes in and goes out
 * alike): bytes pass when both have them.
 */
export class BandwidthBucket {
  private tokens: number;
  private last: number;

  constructor(
    private kbps: number | undefined,
    now: number,
    private readonly shared?: BandwidthBucket,
  ) {
    this.tokens = this.capacity;
    this.last = now;
  }

  setRate(kbps: number | undefined): void {
    this.kbps = kbps;
  }

  /** A burst of up to 50 ms of traffic (and at least one full message). */
  private get capacity(): number {
    return this.kbps === undefined ? Infinity : Math.max(16 * 1024, (this.kbps * 1000) / 8 / 20);
  }

  private refill(now: number): void {
    if (this.kbps === undefined) return;
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) * this.kbps) / 8);
    this.last = now;
  }

  /** Whether this bucket (or the one it shares) limits anything. */
  get limited(): boolean {
    return this.kbps !== undefined || this.shared?.kbps !== undefined;
  }

  /** Takes `bytes` if available now (here and in the shared bucket); else returns the ms to wait before trying again. */
  take(bytes: number, now: number): number {
    // Every message a host sends or receives comes here: the common case, no emulation, first.
    if (!this.limited) return 0;
    const wait = Math.max(this.waitFor(bytes, now), this.shared?.waitFor(bytes, now) ?? 0);
    if (wait > 0) return wait;
    this.spend(bytes);
    this.shared?.spend(bytes);
    return 0;
  }

  private waitFor(bytes: number, now: number): number {
    if (this.kbps === undefined) return 0;
    this.refill(now);
    return this.tokens >= bytes ? 0 : Math.max(1, ((bytes - this.tokens) * 8) / this.kbps);
  }

  private spend(bytes: number): void {
    if (this.kbps !== undefined) this.tokens -= bytes;
  }
}

export interface LinkClock {
  now(): number;
  set(callback: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

/** Above this many buffered bytes the engine stops handing a channel more. */
export const HIGH_WATER_BYTES = 1024 * 1024;
export const LOW_WATER_BYTES = 256 * 1024;
/**
 * Timely data waits in the link's queue, not in the channel's buffer, once the buffer holds
 * this much: in the queue its deadline still applies (in SCTP's buffer nothing does, and a
 * congested association can hold 1 MiB there for seconds). About 180 ms of a 3 Mbit/s stream.
 */
export const TIMELY_BUFFER_BYTES = 64 * 1024;
/** How soon a queue held back for timely data looks again (bufferedamountlow fires lower). */
const TIMELY_RETRY_MS = 5;
/** On a path with no loss measured, one block in this many gets a repair (link.repairsFor). */
const PROBE_EVERY_BLOCKS = 4;
/** Messages a link queues before the drop policy starts. */
export const MAX_QUEUED = 1024;

const PING_SMOOTHING = 1 / 8;
/** RTT samples kept for the path's own RTT (pings go every second: some 8 s of them). */
const RECENT_RTTS = 8;
/**
 * Loss is measured over decaying sums of messages: each LOSS_MEMORY_MESSAGES new ones keep
 * this much of the past, so under a stream an estimate spans a few seconds and follows a
 * change within them, and a pause in the stream (a few pings) keeps it for the stream's
 * return (forgotten in time, it gave a resumed stream too few repairs for a second).
 */
const LOSS_MEMORY = 0.8;
const LOSS_MEMORY_MESSAGES = 200;
/** However few messages, each count forgets this much of LOSS_MEMORY's share: an idle link's estimate fades in some 30 s. */
const LOSS_MEMORY_FLOOR = 0.1;
/**
 * Messages assumed delivered before any were counted: one lost ping alone (of the 1 a second
 * sent while no stream flows) must not read as 20% loss; a stream's hundreds outweigh it.
 */
const LOSS_PRIOR_MESSAGES = 20;
/** Pings awaiting their pong: older ones are given up (lost). */
const MAX_PENDING_PINGS = 16;

/**
 * One linked host, seen from the engine: its transport, an outgoing queue with a real-time
 * drop policy, emulated propagation delay, RTT measurement and liveness. The engine decides
 * when to ping and when silence means failure; the link keeps all of its own state.
 */
export class Link {
  private linkState: LinkState = 'connecting';
  private srttMs: number | undefined;
  /** The last RTT samples, and their least: the path's, without the queues a burst left in it. */
  private readonly recentRtts: number[] = [];
  private pathRttMs: number | undefined;
  private lastHeard: number;
  /** The emulated one-way delay toward this peer (ms), from both ends' positions. */
  private emulatedDelayMs = 0;
  private peerPosition: [number, number] | undefined;
  private readonly pendingPings = new Map<number, number>();
  private readonly queue: Outgoing[] = [];
  private queuedBytes = 0;
  /** Sent into the emulated wire: leaving the host at `due`, on its lane. */
  private readonly wire: { bytes: Uint8Array; due: number; lane: number }[] = [];
  private wireBytes = 0;
  private wireTimer: unknown;
  private counters = { sentBytes: 0, receivedBytes: 0, dropped: 0, late: 0, repairsResent: 0 };
  private window = { at: 0, sentBytes: 0, receivedBytes: 0 };
  /**
   * Messages on the lane that never retransmits, each way: what the peer counts it sent there
   * against what arrived here is the loss of its path to us, a fact no retransmission hides.
   */
  private unretransmitted = { sent: 0, received: 0 };
  private inbound: { peerSent: number; received: number; sentSum: number; lostSum: number } | undefined;
  /** Loss of the path from here to the peer, as the peer measured and reported it. */
  private outboundLoss = 0;
  private blocksSinceProbe = 0;

  constructor(
    readonly hostId: string,
    readonly transport: LinkTransport,
    private readonly clock: LinkClock,
  ) {
    this.lastHeard = clock.now();
    this.window.at = this.lastHeard;
  }

  get state(): LinkState {
    return this.linkState;
  }

  /** The channel opened: the link carries data, and its silence is timed from now. */
  open(now: number): void {
    if (this.linkState === 'failed') return;
    this.linkState = 'open';
    this.lastHeard = now;
  }

  /**
   * Silent too long, but not given up: its connection may be restarting ICE and its channel
   * survives that. It carries only pings until something arrives again; what it had queued is
   * too late by then and goes, and so do the pings it awaited.
   */
  stall(): void {
    if (this.linkState !== 'open') return;
    this.linkState = 'stalled';
    this.counters.dropped += this.queue.length;
    this.clearQueue();
    // Pings awaited now went out into the outage.
    this.pendingPings.clear();
  }

  /** Something arrived on a stalled link: it carries data again. Returns whether it was stalled. */
  recover(now: number): boolean {
    if (this.linkState !== 'stalled') return false;
    this.open(now);
    return true;
  }

  /** Smoothed RTT, undefined until a pong has come back. */
  get rttMs(): number | undefined {
    return this.srttMs;
  }

  /** Time since anything arrived from the peer. */
  silentFor(now: number): number {
    return now - this.lastHeard;
  }

  /** One-way latency toward the peer: half the smoothed RTT, 0 until measured. */
  get oneWayMs(): number {
    return this.srttMs === undefined ? 0 : this.srttMs / 2;
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Everything not yet delivered to the channel's far end: queue, emulated wire, channel buffer. */
  get backlogBytes(): number {
    return this.queuedBytes + this.inTransit;
  }

  /** Bytes the link holds beyond the queue: the emulated wire plus the channel's buffer. */
  get inTransit(): number {
    return this.wireBytes + this.transport.bufferedAmount;
  }

  noteReceived(bytes: number, now: number, lane: number): void {
    this.counters.receivedBytes += bytes;
    this.lastHeard = now;
    if (lane === UNRETRANSMITTED_LANE) this.unretransmitted.received++;
  }

  /** How many messages this end has sent on the unretransmitted lane (a ping carries it). */
  get unretransmittedSent(): number {
    return this.unretransmitted.sent;
  }

  /**
   * The peer's count of what it sent here on the unretransmitted lane, from its ping or pong.
   * Between two counts, what it sent and did not arrive was lost: summed with decay into the
   * loss of its path to here. Returns whether the count was news (not overtaken).
   */
  notePeerSent(peerSent: number): boolean {
    const received = this.unretransmitted.received;
    const last = this.inbound;
    // A count older than the last: its ping came on another stripe (another association) and
    // was overtaken. Taken, it would read as four billion messages sent, nearly all lost.
    if (last && ((peerSent - last.peerSent) | 0) < 0) return false;
    this.inbound = { peerSent, received, sentSum: last?.sentSum ?? 0, lostSum: last?.lostSum ?? 0 };
    if (!last) return true;
    const sent = (peerSent - last.peerSent) >>> 0;
    const arrived = received - last.received;
    const memory = LOSS_MEMORY ** Math.max(LOSS_MEMORY_FLOOR, sent / LOSS_MEMORY_MESSAGES);
    this.inbound.sentSum = this.inbound.sentSum * memory + sent;
    // Unclamped: a message in flight at one count is missing from it and surplus in the next.
    this.inbound.lostSum = Math.max(0, this.inbound.lostSum * memory + sent - arrived);
    return true;
  }

  /**
   * Share of the peer's messages to here that were lost, as measured here (sent back in pings):
   * the count of losses taken two standard deviations high, so a few seconds of counts
   * overstate a loss rather than understate it (FEC sized too small loses frames, and each
   * lost frame costs a key frame), while a path that lost nothing still reads 0.
   */
  get inboundLoss(): number {
    if (!this.inbound) return 0;
    const { lostSum, sentSum } = this.inbound;
    return Math.min(1, (lostSum + 2 * Math.sqrt(lostSum)) / (sentSum + LOSS_PRIOR_MESSAGES));
  }

  /** The peer's measure of what this end's messages lose on the way. */
  noteOutboundLoss(loss: number): void {
    this.outboundLoss = loss;
  }

  /**
   * FEC repairs a block of `sources` fragments needs on this link, from its measured loss: none
   * on a clean path, enough on a lossy one that a block is rarely lost (fec.ts).
   */
  repairsFor(sources: number): number {
    if (this.backedUp) return 0;
    // Nor more than half again the block (two for a lone fragment), however lossy the path.
    const repairs = Math.min(repairCount(sources, this.outboundLoss), Math.max(2, Math.ceil(sources / 2)));
    if (repairs > 0) return repairs;
    // A path that has lost nothing measured still gets a repair every few blocks: on the lane
    // that never retransmits, it is what shows a loss starting within seconds (pings alone,
    // two a second, would take a minute at 2%), and it rebuilds a lone loss meanwhile.
    return this.blocksSinceProbe++ % PROBE_EVERY_BLOCKS === 0 ? 1 : 0;
  }

  /**
   * Repair rows to send a peer that asked for `wanted` more of a block (FEC there rebuilt too
   * little): those, and a margin for this path's loss as `repairsFor` sizes one; none while
   * backed up, which also bounds what a peer asking without end can make this host code.
   */
  repairsToResend(wanted: number): number {
    return this.backedUp ? 0 : Math.min(FEC_MAX_REPAIRS, wanted + repairCount(wanted, this.outboundLoss));
  }

  noteRepairsResent(count: number): void {
    this.counters.repairsResent += count;
  }

  /** Loss on a link already backed up is congestion's, which more bytes (repairs) feed. */
  private get backedUp(): boolean {
    return this.queue.length > 0 || this.transport.bufferedAmount > TIMELY_BUFFER_BYTES;
  }

  /**
   * A ping with this nonce leaves now. One sent while stalled is not awaited: its pong, if the
   * link mends, would time the outage, not the path.
   */
  notePingSent(nonce: number, now: number): void {
    if (this.linkState === 'stalled') return;
    this.pendingPings.set(nonce, now);
    if (this.pendingPings.size > MAX_PENDING_PINGS) this.pendingPings.delete(this.pendingPings.keys().next().value!);
  }

  /** A pong: an RTT sample if it answers a ping still awaited (not lost, not from before a delay change). */
  notePong(nonce: number, now: number): void {
    const sentAt = this.pendingPings.get(nonce);
    if (sentAt === undefined) return;
    this.pendingPings.delete(nonce);
    const sample = now - sentAt;
    this.srttMs = this.srttMs === undefined ? sample : this.srttMs + PING_SMOOTHING * (sample - this.srttMs);
    this.recentRtts.push(sample);
    if (this.recentRtts.length > RECENT_RTTS) this.recentRtts.shift();
    this.pathRttMs = Math.min(...this.recentRtts);
  }

  /** The peer's emulated position, from its ping or pong. */
  notePeerPosition(position: [number, number] | undefined, ownPosition: readonly [number, number] | undefined): void {
    this.peerPosition = position;
    this.updateDelay(ownPosition);
  }

  /** A new emulated delay makes earlier RTT samples meaningless: measure afresh. */
  updateDelay(ownPosition: readonly [number, number] | undefined): void {
    const delay = emulatedOneWayDelayMs(ownPosition, this.peerPosition);
    if (delay === this.emulatedDelayMs) return;
    this.emulatedDelayMs = delay;
    this.srttMs = undefined;
    this.recentRtts.length = 0;
    this.pathRttMs = undefined;
    this.pendingPings.clear();
  }

  /**
   * Queues a message. When the queue is full, a chunk goes (all its fragments), chosen by what
   * depends on it: the oldest droppable one (L1T3's top layer, on which nothing depends), else
   * the oldest timely delta frame of layer 1, else of layer 0. Key frames and untimely data are
   * never dropped here: the queue may then run over, and backpressure holds the sender.
   * Returns the channel of a dropped frame others depend on (layer 0 or 1): what follows it
   * down this link cannot be decoded until a key frame, which the caller asks upstream for.
   */
  enqueue(message: Outgoing): number | undefined {
    this.queue.push(message);
    this.queuedBytes += message.bytes.byteLength;
    if (this.queue.length <= MAX_QUEUED) return undefined;
    let victim: Outgoing | undefined;
    let victimRank = Infinity;
    for (const queued of this.queue) {
      const rank = dropRank(queued.flags);
      if (rank < victimRank) [victim, victimRank] = [queued, rank];
      if (rank === 0) break;
    }
    if (!victim) return undefined;
    for (let i = this.queue.length - 1; i >= 0; i--) {
      if (this.queue[i]!.group === victim.group) {
        this.queuedBytes -= this.queue[i]!.bytes.byteLength;
        this.queue.splice(i, 1);
        this.counters.dropped++;
      }
    }
    return victimRank > 0 ? victim.channel : undefined;
  }

  /**
   * Moves queued messages onto the wire while the channel has room and the host's upload
   * bucket allows; timely data past its deadline goes instead, and timely data waits here
   * while the channel's buffer is past TIMELY_BUFFER_BYTES. Returns ms until it is worth
   * trying again (0: queue empty or blocked on the channel's own buffer, which calls back
   * through bufferedamountlow).
   */
  pump(now: number, upload: BandwidthBucket, budget = Infinity): number {
    for (let sent = 0; sent < budget && this.queue.length > 0 && this.linkState === 'open'; ) {
      // One read of the channels' buffer a message: in the worker it sums eight lanes.
      const buffered = this.transport.bufferedAmount;
      if (this.wireBytes + buffered > HIGH_WATER_BYTES) return 0;
      const next = this.queue[0]!;
      const forwarded = next.forwarded;
      // Latency as stamped on leaving: what it had, the time it spent here, this link's share.
      const latencyUs = forwarded ? forwarded.latencyUs + (now - forwarded.arrival + this.oneWayMs) * 1000 : 0;
      let lane = RELIABLE_LANE;
      if (forwarded?.deadlineUs !== undefined) {
        // Judged late only by the path's least recent RTT: one burst's queue inflates the
        // smoothed RTT for seconds, and judged by that, everything would go unsent for as long.
        const pathOneWayMs = this.pathRttMs === undefined ? this.oneWayMs : this.pathRttMs / 2;
        const slackMs = (forwarded.deadlineUs - latencyUs) / 1000 + this.oneWayMs - pathOneWayMs;
        // A key frame goes even when late: without it a subscriber whose route cannot meet its
        // bound would see nothing and report nothing, and the server could not swap it closer.
        if (slackMs < 0 && (next.flags & Flags.Key) === 0) {
          this.shift();
          this.counters.late++;
          continue;
        }
        if (buffered > TIMELY_BUFFER_BYTES) return TIMELY_RETRY_MS;
        // Repairs are worth nothing retransmitted (the retransmitted source is as good), and on
        // the lane that never retransmits they are what measures this link's loss.
        lane = (next.flags & Flags.Repair) !== 0 ? UNRETRANSMITTED_LANE : timelyLane(slackMs);
      }
      const wait = upload.take(next.bytes.byteLength, now);
      if (wait > 0) return wait;
      this.shift();
      if (forwarded) patchForwarded(next.bytes, forwarded.hops + 1, latencyUs);
      this.toWire(next.bytes, now, lane);
      sent++;
    }
    return 0;
  }

  private shift(): void {
    this.queuedBytes -= this.queue.shift()!.bytes.byteLength;
  }

  /** Sends now, or after the emulated delay; control messages skip the queue (and take the reliable lane). */
  toWire(bytes: Uint8Array, now: number, lane = RELIABLE_LANE): void {
    if (this.linkState === 'failed') return;
    this.counters.sentBytes += bytes.byteLength;
    if (lane === UNRETRANSMITTED_LANE) this.unretransmitted.sent++;
    if (this.emulatedDelayMs <= 0 && this.wire.length === 0) {
      this.transmit(bytes, lane);
      return;
    }
    this.wire.push({ bytes, due: now + this.emulatedDelayMs, lane });
    this.wireBytes += bytes.byteLength;
    this.armWire(now);
  }

  private armWire(now: number): void {
    if (this.wireTimer !== undefined || this.wire.length === 0) return;
    this.wireTimer = this.clock.set(() => {
      this.wireTimer = undefined;
      this.flushWire(this.clock.now());
    }, Math.max(0, this.wire[0]!.due - now));
  }

  /** Hands every message whose emulated delay has passed to the transport. */
  flushWire(now: number): void {
    while (this.wire.length > 0 && this.wire[0]!.due <= now + 0.5) {
      const { bytes, lane } = this.wire.shift()!;
      this.wireBytes -= bytes.byteLength;
      this.transmit(bytes, lane);
    }
    this.armWire(now);
  }

  private transmit(bytes: Uint8Array, lane: number): void {
    try {
      this.transport.send(bytes, lane);
    } catch {
      // A channel closing under us: the close event marks the link failed.
    }
  }

  stats(now: number): LinkStats {
    const seconds = Math.max(0.001, (now - this.window.at) / 1000);
    const sent = this.counters.sentBytes - this.window.sentBytes;
    const received = this.counters.receivedBytes - this.window.receivedBytes;
    this.window = { at: now, ...this.counters };
    return {
      hostId: this.hostId,
      state: this.linkState,
      ...(this.srttMs !== undefined && { rttMs: this.srttMs }),
      throughputKbps: (sent * 8) / 1000 / seconds,
      receivedKbps: (received * 8) / 1000 / seconds,
      queued: this.queue.length,
      dropped: this.counters.dropped,
      late: this.counters.late,
      repairsResent: this.counters.repairsResent,
      lossRate: this.outboundLoss,
      inboundLossRate: this.inboundLoss,
      sentBytes: this.counters.sentBytes,
      bufferedBytes: this.transport.bufferedAmount,
    };
  }

  close(): void {
    this.linkState = 'failed';
    if (this.wireTimer !== undefined) this.clock.clear(this.wireTimer);
    this.clearQueue();
    this.wire.length = 0;
    try {
      this.transport.close();
    } catch {
      // Already closed.
    }
  }

  private clearQueue(): void {
    this.queue.length = 0;
    this.queuedBytes = 0;
  }
}
