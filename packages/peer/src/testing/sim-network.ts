import { Cube, Ownership } from '@cubecast/overlay';
import { MessageType, PUBLISHED_VARIANT, type MessageHeader, type RoutingPolicyName } from '@cubecast/protocol';
import { SwitchingEngine, type EngineOptions } from '../engine/switching-engine.js';
import type { EngineEnvironment, EngineEvent, LinkTransport } from '../engine/types.js';

/**
 * A deterministic network for engine tests: virtual time, a timer queue, and links that
 * deliver after a fixed propagation delay. Engines run unmodified on top of it.
 */
export class SimNetwork {
  now = 0;
  private seq = 0;
  private readonly timers: { at: number; seq: number; run: () => void; cancelled: boolean }[] = [];
  readonly engines = new Map<string, SwitchingEngine>();
  readonly events = new Map<string, { at: number; event: EngineEvent }[]>();
  /** Messages carried per directed link `a>b`. */
  readonly carried = new Map<string, number>();
  /** Data messages (chunks and fragments) carried per directed link `a>b`. */
  readonly carriedData = new Map<string, number>();
  private readonly cut = new Set<string>();
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
    for (;;) {
      let best = -1;
      for (let i = 0; i < this.timers.length; i++) {
        const t = this.timers[i]!;
        if (t.at <= end && (best < 0 || t.at < this.timers[best]!.at || (t.at === this.timers[best]!.at && t.seq < this.timers[best]!.seq))) best = i;
      }
      if (best < 0) break;
      const [timer] = this.timers.splice(best, 1);
      this.now = Math.max(this.now, timer!.at);
      if (!timer!.cancelled) timer!.run();
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

  private transport(from: string, to: string): LinkTransport {
    return {
      send: (bytes) => {
        const key = `${from}>${to}`;
        this.carried.set(key, (this.carried.get(key) ?? 0) + 1);
        if (bytes[1] === MessageType.Data) this.carriedData.set(key, (this.carriedData.get(key) ?? 0) + 1);
        const copy = bytes.slice();
        this.setTimer(() => {
          if (this.cut.has(from) || this.cut.has(to)) return;
          this.engines.get(to)?.receive(from, copy);
        }, this.latencyMs(from, to));
      },
      bufferedAmount: 0,
      close: () => {},
    };
  }

  /** A host vanishes: its messages stop, its peers see the channels close, the server reassigns. */
  kill(hostId: string): void {
    this.cut.add(hostId);
    this.engines.get(hostId)!.stop();
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
