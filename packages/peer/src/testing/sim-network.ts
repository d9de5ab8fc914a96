import TinyQueue from 'tinyqueue';
import { createRng, Cube, Ownership } from '@cubecast/overlay';
import { LINK_CHANNELS, MessageType, PUBLISHED_VARIANT, RELIABLE_LANE, type MessageHeader, type RoutingPolicyName } from '@cubecast/protocol';
import { LOW_WATER_BYTES } from '../engine/link.js';
import { SwitchingEngine, type EngineOptions } from '../engine/switching-engine.js';
import type { EngineEnvironment, EngineEvent, LinkTransport } from '../engine/types.js';

/** What a directed link does to the messages it carries, beyond its propagation delay. */
export interface LinkConditions {
  /** Chance (0..1) that a message is lost. */
  readonly loss?: number;
  /** Chance that a message arrives twice. */
  readonly duplicate?: number;
  /** Extra one-way delay, uniform in [0, jitterMs): a later message can overtake an earlier one. */
  readonly jitterMs?: number;
  /**
   * The data channel's send buffer drains this many bytes per ms: `bufferedAmount` grows with
   * each send and the engine hears `bufferLow` when it falls to the low mark, as from
   * RTCDataChannel's bufferedamountlow. Unset: the buffer never backs up.
   */
  readonly drainBytesPerMs?: number;
  /** `send` throws, as on a channel closing under the sender. */
  readonly sendThrows?: boolean;
  /**
   * Loss as SCTP meets it on a link's lanes (protocol's LINK_CHANNELS): a lost message is sent
   * again `rtoMs` later, and again, while its lane allows (the reliable lane always, and in
   * order: what follows waits for it; a timely lane within its maxPacketLifeTime, unordered);
   * then it is gone. Unset: `loss` just loses messages.
   */
  readonly sctp?: { readonly rtoMs: number };
  /** The lanes `loss` (and `sctp`) apply to. Unset: all of them. */
  readonly lossyLanes?: readonly number[];
}

/** One direction of a link: its conditions and its send buffer. */
interface Wire {
  conditions: LinkConditions;
  buffered: number;
  /** When the last byte now in the buffer will have left. */
  drainedAt: number;
  peakBuffered: number;
  readonly bufferLowAt: number[];
  readonly dataSentAt: number[];
  /** The reliable lane's delivery order under `sctp`: when its latest message arrives. */
  orderedUntil: number;
}

/**
 * A deterministic network for engine tests: virtual time, a timer queue, and links that
 * deliver after a propagation delay, with loss, duplication, jitter (reordering) and a send
 * buffer that drains at a set rate when a test asks for them (seeded: runs repeat exactly).
 * Engines run unmodified on top of it.
 */
export class SimNetwork {
  now = 0;
  private seq = 0;
  /** Due first at the top (then in the order set): a heap, as a run has tens of thousands pending. */
  private readonly timers = new TinyQueue<{ at: number; seq: number; run: () => void; cancelled: boolean }>([], (a, b) => a.at - b.at || a.seq - b.seq);
  readonly engines = new Map<string, SwitchingEngine>();
  readonly events = new Map<string, { at: number; event: EngineEvent }[]>();
  /** Messages carried per directed link `a>b`. */
  readonly carried = new Map<string, number>();
  /** Data messages (chunks and fragments) carried per directed link `a>b`. */
  readonly carriedData = new Map<string, number>();
  /** Bytes sent per message type (protocol's MessageType), over all links. */
  readonly bytesByType = new Map<number, number>();
  private readonly cut = new Set<string>();
  private readonly wires = new Map<string, Wire>();
  private random = createRng(1);
  ownership!: Ownership;
  epoch = 1;
  /** The channel directory every engine is given: the channels tests publish. */
  readonly channels = [1, 2, 3, 4];

  constructor(
    readonly cube: Cube,
    readonly latencyMs: (a: string, b: string) => number,
    private readonly policy: RoutingPolicyName = 'greedy',
    private readonly options?: EngineOptions,
    private readonly createPipeline?: EngineEnvironment['createPipeline'],
  ) {}

  setTimer(run: () => void, ms: number) {
    const timer = { at: this.now + Math.max(0, ms), seq: this.seq++, run, cancelled: false };
    this.timers.push(timer);
    return timer;
  }

  /** Runs every event due up to `now + ms`, in time order. */
  advance(ms: number): void {
    const end = this.now + ms;
    while (this.timers.length > 0 && this.timers.peek()!.at <= end) {
      const timer = this.timers.pop()!;
      this.now = Math.max(this.now, timer.at);
      if (!timer.cancelled) timer.run();
    }
    this.now = end;
  }

  addHosts(hostIds: string[]): void {
    this.ownership = Ownership.create(this.cube, hostIds);
    for (const hostId of hostIds) {
      const events: { at: number; event: EngineEvent }[] = [];
      this.events.set(hostId, events);
      const engine = new SwitchingEngine(
        {
          now: () => this.now,
          setTimer: (cb, ms) => this.setTimer(cb, ms),
          clearTimer: (h) => ((h as { cancelled: boolean }).cancelled = true),
          emit: (event) => events.push({ at: this.now, event }),
          ...(this.createPipeline && { createPipeline: this.createPipeline }),
        },
        this.options,
      );
      engine.setChannels(this.channels);
      this.engines.set(hostId, engine);
    }
    this.syncViews();
  }

  /** Gives every engine its view of the current ownership and links what must be linked. */
  syncViews(): void {
    for (const [hostId, engine] of this.engines) {
      if (!this.ownership.has(hostId)) continue;
      engine.setView({
        hostId,
        epoch: this.epoch,
        k: this.cube.k,
        n: this.cube.n,
        ids: this.ownership.idsOf(hostId),
        neighbours: [...this.ownership.neighbourTable(hostId)],
        policy: this.policy,
      });
    }
    for (const hostId of this.engines.keys()) {
      if (!this.ownership.has(hostId)) continue;
      for (const other of this.ownership.linkedHosts(hostId)) if (hostId < other) this.link(hostId, other);
    }
  }

  private readonly linked = new Set<string>();
  private link(a: string, b: string): void {
    if (this.linked.has(`${a}|${b}`)) return;
    this.linked.add(`${a}|${b}`);
    this.engines.get(a)!.addLink(b, this.transport(a, b));
    this.engines.get(b)!.addLink(a, this.transport(b, a));
    this.engines.get(a)!.linkOpened(b);
    this.engines.get(b)!.linkOpened(a);
  }

  /** Replaces the link between a and b with a new one, as when either host restarts. */
  relink(a: string, b: string): void {
    const [first, second] = a < b ? [a, b] : [b, a];
    this.linked.delete(`${first}|${second}`);
    this.link(first, second);
  }

  /** Sets the conditions of the links `from>to` for which `where` holds (all by default), and the seed of their dice. */
  setConditions(conditions: LinkConditions, where: (from: string, to: string) => boolean = () => true, seed = 1): void {
    this.random = createRng(seed);
    for (const [key, wire] of this.wires) {
      const [from, to] = key.split('>') as [string, string];
      if (where(from, to)) wire.conditions = conditions;
    }
  }

  /** The send buffer of `from>to`: now, its peak, when it fell to the low mark, and when data messages were sent. */
  wire(from: string, to: string): Readonly<Wire> {
    return this.wires.get(`${from}>${to}`)!;
  }

  private transport(from: string, to: string): LinkTransport {
    const key = `${from}>${to}`;
    const wire: Wire = { conditions: {}, buffered: 0, drainedAt: 0, peakBuffered: 0, bufferLowAt: [], dataSentAt: [], orderedUntil: 0 };
    this.wires.set(key, wire);
    return {
      send: (bytes, lane) => {
        const { duplicate = 0, jitterMs = 0, drainBytesPerMs, sendThrows, sctp, lossyLanes } = wire.conditions;
        const loss = !lossyLanes || lossyLanes.includes(lane) ? (wire.conditions.loss ?? 0) : 0;
        if (sendThrows) throw new Error('the channel is closing');
        this.carried.set(key, (this.carried.get(key) ?? 0) + 1);
        this.bytesByType.set(bytes[1]!, (this.bytesByType.get(bytes[1]!) ?? 0) + bytes.byteLength);
        if (bytes[1] === MessageType.Data) {
          this.carriedData.set(key, (this.carriedData.get(key) ?? 0) + 1);
          wire.dataSentAt.push(this.now);
        }
        const copy = bytes.slice();
        let leavesIn = 0;
        if (drainBytesPerMs !== undefined) {
          wire.drainedAt = Math.max(this.now, wire.drainedAt) + copy.byteLength / drainBytesPerMs;
          leavesIn = wire.drainedAt - this.now;
          wire.buffered += copy.byteLength;
          wire.peakBuffered = Math.max(wire.peakBuffered, wire.buffered);
          this.setTimer(() => {
            const before = wire.buffered;
            wire.buffered -= copy.byteLength;
            if (before > LOW_WATER_BYTES && wire.buffered <= LOW_WATER_BYTES) {
              wire.bufferLowAt.push(this.now);
              this.engines.get(from)?.bufferLow(to);
            }
          }, leavesIn);
        }
        let retransmitDelay = 0;
        if (sctp) {
          const { maxPacketLifeTime = Infinity, maxRetransmits = Infinity } = LINK_CHANNELS[lane]!;
          for (let tries = 0; this.random() < loss; tries++) {
            if (tries >= maxRetransmits || retransmitDelay + sctp.rtoMs > maxPacketLifeTime) return;
            retransmitDelay += sctp.rtoMs;
          }
        } else if (this.random() < loss) return;
        const copies = this.random() < duplicate ? 2 : 1;
        for (let i = 0; i < copies; i++) {
          let arrives = this.now + leavesIn + this.latencyMs(from, to) + this.random() * jitterMs + retransmitDelay;
          // The reliable lane is ordered: nothing overtakes what is being retransmitted.
          if (sctp && lane === RELIABLE_LANE) arrives = wire.orderedUntil = Math.max(wire.orderedUntil, arrives);
          this.setTimer(() => {
            if (this.cut.has(from) || this.cut.has(to)) return;
            this.engines.get(to)?.receive(from, copy, lane);
          }, arrives - this.now);
        }
      },
      get bufferedAmount() {
        return wire.buffered;
      },
      close: () => {},
    };
  }

  /** A host's network goes down (`true`) or comes back: its messages stop or flow again; nothing closes. */
  partition(hostId: string, down: boolean): void {
    if (down) this.cut.add(hostId);
    else this.cut.delete(hostId);
  }

  /** A host vanishes: its messages stop, its peers see the channels close, the server reassigns. */
  kill(hostId: string): void {
    this.cut.add(hostId);
    this.engines.get(hostId)!.close();
    for (const [other, engine] of this.engines) if (other !== hostId) engine.linkClosed(hostId, 'closed');
    this.ownership.leave(hostId);
    this.engines.delete(hostId);
    this.syncViews();
  }

  /** Sends raw bytes on a link, as a misbehaving peer would. */
  inject(from: string, to: string, bytes: Uint8Array): void {
    this.engines.get(to)!.receive(from, bytes);
  }

  chunks(hostId: string) {
    return (this.events.get(hostId) ?? []).flatMap(({ at, event }) => (event.type === 'chunk' ? [{ at, ...event.chunk }] : []));
  }

  eventsOf<T extends EngineEvent['type']>(hostId: string, type: T) {
    return (this.events.get(hostId) ?? []).flatMap(({ at, event }) => (event.type === type ? [{ at, ...(event as Extract<EngineEvent, { type: T }>) }] : []));
  }
}

/** A data-plane header for tests that forge messages: a whole published-variant data chunk unless told otherwise. */
export function messageHeader(fields: Partial<MessageHeader>): MessageHeader {
  return {
    type: MessageType.Data,
    flags: 0,
    hops: 0,
    channel: 1,
    sequence: 0,
    source: 0,
    destination: PUBLISHED_VARIANT,
    latencyUs: 0,
    fragmentIndex: 0,
    fragmentCount: 1,
    ...fields,
  };
}
