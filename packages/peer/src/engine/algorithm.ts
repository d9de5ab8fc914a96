import type { MessageHeader, SpaSpec } from '@cubecast/protocol';
import type { RouteRequestInfo } from '../algorithms/cube-routing.js';
import type { Branch, LocalRoute } from './route-table.js';
import type { Topology } from './topology.js';
import type { LinkStats } from './types.js';

/**
 * An overlay algorithm, iOverlay's way (seed 004, sections 2.2-2.3): message driven, it reacts
 * to one message at a time in `process` and acts through its context, whose one sending call
 * is `send`. The engine keeps everything mundane: links, queues, backpressure, fragments,
 * FEC, emulation, failure detection, measurements, and the switching of data along the
 * branches the algorithm lays. docs/algorithms.md.
 */
export interface OverlayAlgorithm {
  /** As deployments name it (`cubecast serve --algorithm NAME`). */
  readonly name: string;
  /**
   * Given every data message (`data`) as well: each fragment of each chunk this host gets
   * (once: duplicates are dropped first) or publishes. The engine still switches it along the
   * branches and delivers it here if subscribed; the algorithm may `send` it on as well.
   */
  readonly receivesData?: boolean;
  /** Once, before any message: the context stays valid until the engine closes. */
  start(context: AlgorithmContext): void;
  process(message: AlgorithmMessage): void;
}

/** Makes an algorithm for one engine (one host). */
export type AlgorithmFactory = (options: AlgorithmOptions) => OverlayAlgorithm;

export interface AlgorithmOptions {
  /** How often soft state is refreshed; the engine expires branches after 3 of these. */
  readonly refreshMs: number;
}

/** Every message an algorithm is given. */
export type AlgorithmMessage =
  /** The server asks this host, a channel's publisher, for a route to a subscriber. */
  | { readonly type: 'route:request'; readonly route: RouteRequestInfo }
  | { readonly type: 'route:cancel'; readonly subscriptionId: string }
  /** The channel is no longer published here: routes kept for it go. */
  | { readonly type: 'channel:unpublished'; readonly channel: number }
  /** A protocol message from a linked host (route setups and prunes: types 2 and 3). */
  | { readonly type: 'protocol'; readonly from: string; readonly header: MessageHeader; readonly payload: Uint8Array }
  /** A new view of the cube (`context.topology` has it); `linked`: the hosts it links this one to. */
  | { readonly type: 'view'; readonly linked: ReadonlySet<string> }
  /** A link opened, or came back after a stall. */
  | { readonly type: 'link:up'; readonly hostId: string }
  /** A link stalled or failed: the engine has dropped the branches through it. */
  | { readonly type: 'link:down'; readonly hostId: string; readonly reason: string }
  /** A timer the algorithm set (`context.setTimer`) is due. */
  | { readonly type: 'timer'; readonly name: string }
  /** An observer's control message: two integers, read as the algorithm documents (iOverlay's). */
  | { readonly type: 'control'; readonly a: number; readonly b: number }
  /**
   * What the engine measured of every link over the last stats interval (1 s): RTT,
   * throughput each way, loss each way, queue, state; the same figures the tab reports.
   */
  | { readonly type: 'measurement'; readonly links: readonly LinkStats[] }
  /**
   * A data message (a fragment of a channel's chunk), to an algorithm that `receivesData`:
   * from a linked host, or (from null) published here. Its header's latency is as it arrived.
   */
  | { readonly type: 'data'; readonly from: string | null; readonly header: MessageHeader; readonly payload: Uint8Array };

/** A linked host's link, as an algorithm may read it. */
export interface LinkView {
  readonly state: 'connecting' | 'open' | 'stalled' | 'failed';
  /** Half the smoothed RTT (the emulated delay included), ms; 0 before the first pong. */
  readonly oneWayMs: number;
}

/** What the engine offers an algorithm. */
export interface AlgorithmContext {
  now(): number;
  /**
   * The one sending call, to a linked host: a protocol message, on the link's reliable lane;
   * or a data message, through the link's queue like forwarded data (stamped as it leaves:
   * hops + 1, latency + the link's one-way latency; an algorithm that held it adds the time
   * it held it to the header's latency itself). False when there is no open link to it.
   */
  send(to: string, header: MessageHeader, payload: Uint8Array): boolean;
  /** The hosts this one has an open link to (iOverlay's known hosts, as far as links go). */
  linkedHosts(): string[];
  /** Delivers `{type: 'timer', name}` in `delayMs`; setting a name again moves its timer. */
  setTimer(name: string, delayMs: number): void;
  /** Whether a timer of this name is set. */
  hasTimer(name: string): boolean;
  /** The cube as the server assigned it to this host. */
  readonly topology: Topology;
  link(hostId: string): LinkView | undefined;
  /** Where a channel published here enters the cube (its anchor), if it is published here. */
  anchorOf(channel: number): number | undefined;
  /** The variant number of a pipeline (learned for later), or undefined past the engine's bound. */
  variantOf(pipeline: readonly SpaSpec[]): number | undefined;
  /**
   * Forwarding state the engine switches data by: a subscription's branch from here (undefined
   * removes it), and routes ending here. Both expire unless set again within 3 refreshes.
   */
  setBranch(channel: number, subscriptionId: string, branch: Branch | undefined): void;
  setLocal(channel: number, subscriptionId: string, route: LocalRoute | undefined): void;
  /** A route reached its subscriber here. */
  established(channel: number, subscriptionId: string, hops: number, latencyUs: number): void;
  /** A protocol message that could not be read or kept (counted with the malformed). */
  refused(): void;
  /** Reports a failure that costs less than the message (one of several routes, say). */
  reportError(error: unknown): void;
}

/**
 * Runs an algorithm under the engine's contract: one message at a time (a message that
 * arrives while `process` runs, say from a call it made, waits for it to return), and one that
 * throws costs that message only, reported. Timers are the engine's; after `close` nothing
 * more is delivered.
 */
export class AlgorithmHost {
  private readonly waiting: AlgorithmMessage[] = [];
  private readonly timers = new Map<string, unknown>();
  private processing = false;
  private closed = false;

  constructor(
    readonly algorithm: OverlayAlgorithm,
    private readonly clock: { set(callback: () => void, ms: number): unknown; clear(handle: unknown): void },
    private readonly failed: (error: unknown) => void,
  ) {}

  /** Starts the algorithm with the engine's context, its timers routed through this host. */
  start(context: Omit<AlgorithmContext, 'setTimer' | 'hasTimer'>): void {
    this.attempt(() =>
      this.algorithm.start({
        ...context,
        setTimer: (name, delayMs) => this.setTimer(name, delayMs),
        hasTimer: (name) => this.timers.has(name),
      }),
    );
  }

  deliver(message: AlgorithmMessage): void {
    if (this.closed) return;
    this.waiting.push(message);
    if (this.processing) return;
    this.processing = true;
    try {
      for (let next = this.waiting.shift(); next; next = this.waiting.shift()) {
        const message = next;
        this.attempt(() => this.algorithm.process(message));
      }
    } finally {
      this.processing = false;
    }
  }

  close(): void {
    this.closed = true;
    this.waiting.length = 0;
    for (const handle of this.timers.values()) this.clock.clear(handle);
    this.timers.clear();
  }

  private setTimer(name: string, delayMs: number): void {
    if (this.closed) return;
    const existing = this.timers.get(name);
    if (existing !== undefined) this.clock.clear(existing);
    this.timers.set(
      name,
      this.clock.set(() => {
        this.timers.delete(name);
        this.deliver({ type: 'timer', name });
      }, delayMs),
    );
  }

  private attempt(work: () => void): void {
    try {
      work();
    } catch (error) {
      this.failed(error);
    }
  }
}
