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
  /**
   * How long a held data message waits for `release` or `discard` before the engine drops it
   * and says so (`hold:expired`); 1000 ms if unset.
   */
  readonly holdMs?: number;
  /** Once, before any message: the context stays valid until the engine closes. */
  start(context: AlgorithmContext): void;
  /**
   * Returning HOLD for a `data` message is iOverlay's hold, for n-to-m processing (merging,
   * coding): the engine neither delivers nor switches that message until the algorithm
   * releases it, and keeps its bytes valid till then. Any other return lets it go on at once.
   */
  process(message: AlgorithmMessage): void | typeof HOLD;
}

/** What `process` returns to hold a data message (see OverlayAlgorithm.process). */
export const HOLD = 'hold';

/** How long a held message waits by default, and how many one host holds at most (the oldest expires first). */
export const DEFAULT_HOLD_MS = 1000;
export const MAX_HELD = 512;

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
  /** A protocol message from a linked host: route setups and prunes (types 2 and 3), and algorithms' own (type 8). */
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
  | DataMessage
  /** A held data message was neither released nor discarded in time (or more were held than MAX_HELD): the engine dropped it. */
  | { readonly type: 'hold:expired'; readonly header: MessageHeader };

export interface DataMessage {
  readonly type: 'data';
  readonly from: string | null;
  readonly header: MessageHeader;
  /** Valid while `process` runs, and while the message is held; not after it goes on. */
  readonly payload: Uint8Array;
}

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
  setBranch(channel: number, subscriptionId: string, branch: Omit<Branch, 'expiresAt'> | undefined): void;
  setLocal(channel: number, subscriptionId: string, route: Omit<LocalRoute, 'expiresAt'> | undefined): void;
  /**
   * Ends a hold: the held message goes on as if it had just arrived (delivered to a subscriber
   * here, switched along the branches), the time held counted in its latency. False if it is
   * not held (never, released already, or expired).
   */
  release(header: MessageHeader): boolean;
  /** Ends a hold, dropping the message. False if it is not held. */
  discard(header: MessageHeader): boolean;
  /**
   * A data message the algorithm made (decoded, merged) goes on as if it had arrived here from
   * `from`: delivered to a subscriber here, switched along the branches (not back to `from`).
   * A copy this host has had already is dropped; false then.
   */
  accept(header: MessageHeader, payload: Uint8Array, from: string): boolean;
  /**
   * Where a channel comes from here (undefined: forget it): a subscriber's key frame requests
   * go there, hop by hop to the publisher. Cube routing's route setups set it themselves.
   */
  setUpstream(channel: number, hostId: string | undefined): void;
  /** This host's emulated last-mile bandwidth (its total, else its upload), kbit/s; undefined when not emulated. */
  bandwidthKbps(): number | undefined;
  /** A route reached its subscriber here. */
  established(channel: number, subscriptionId: string, hops: number, latencyUs: number): void;
  /** A protocol message that could not be read or kept (counted with the malformed). */
  refused(): void;
  /** Reports a failure that costs less than the message (one of several routes, say). */
  reportError(error: unknown): void;
}

/** The context parts AlgorithmHost makes itself: timers and holds. */
type HostedParts = 'setTimer' | 'hasTimer' | 'release' | 'discard';

/** A message waiting for `process`; a data message with what the engine does if it is not held. */
interface Waiting {
  readonly message: AlgorithmMessage;
  readonly goOn?: () => void;
}

interface Held {
  readonly header: MessageHeader;
  readonly goOn: () => void;
  readonly expiresAt: number;
}

/** Names a data message among those held: a chunk's fragment of one variant. */
function heldKey(header: MessageHeader): string {
  return `${header.channel}:${header.destination}:${header.sequence}:${header.fragmentIndex}`;
}

/**
 * Runs an algorithm under the engine's contract: one message at a time (a message that
 * arrives while `process` runs, say from a call it made, waits for it to return), and one that
 * throws costs that message only, reported. Timers are the engine's; held messages are
 * released, discarded or expired, never kept for ever; after `close` nothing more is delivered.
 */
export class AlgorithmHost {
  private readonly waiting: Waiting[] = [];
  private readonly timers = new Map<string, unknown>();
  /** In the order held, which is the order they expire in (one hold time for all). */
  private readonly held = new Map<string, Held>();
  private expiryTimer: unknown;
  private readonly holdMs: number;
  private processing = false;
  private closed = false;

  constructor(
    readonly algorithm: OverlayAlgorithm,
    private readonly clock: { now(): number; set(callback: () => void, ms: number): unknown; clear(handle: unknown): void },
    private readonly failed: (error: unknown) => void,
  ) {
    this.holdMs = algorithm.holdMs ?? DEFAULT_HOLD_MS;
  }

  /** Starts the algorithm with the engine's context, its timers and holds kept by this host. */
  start(context: Omit<AlgorithmContext, HostedParts>): void {
    this.attempt(() =>
      this.algorithm.start({
        ...context,
        setTimer: (name, delayMs) => this.setTimer(name, delayMs),
        hasTimer: (name) => this.timers.has(name),
        release: (header) => this.endHold(header, true),
        discard: (header) => this.endHold(header, false),
      }),
    );
  }

  /** Messages held now (diagnostics, tests). */
  get heldCount(): number {
    return this.held.size;
  }

  /**
   * Delivers a message; a data message comes with what the engine does with it if the
   * algorithm does not hold it (or throws on it: its failure is no reason to lose the data).
   */
  deliver(message: AlgorithmMessage, goOn?: () => void): void {
    if (this.closed) return;
    this.waiting.push(goOn ? { message, goOn } : { message });
    if (this.processing) return;
    this.processing = true;
    try {
      for (let next = this.waiting.shift(); next; next = this.waiting.shift()) {
        const { message, goOn } = next;
        const result = this.attempt(() => this.algorithm.process(message));
        if (!goOn) continue;
        if (result === HOLD && message.type === 'data') this.hold(message.header, goOn);
        else this.attempt(goOn);
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
    this.held.clear();
    if (this.expiryTimer !== undefined) this.clock.clear(this.expiryTimer);
    this.expiryTimer = undefined;
  }

  private hold(header: MessageHeader, goOn: () => void): void {
    const key = heldKey(header);
    // Held twice (a repeat the algorithm made the engine accept): the later one stands.
    this.held.delete(key);
    this.held.set(key, { header, goOn, expiresAt: this.clock.now() + this.holdMs });
    if (this.held.size > MAX_HELD) this.expire(this.held.keys().next().value!);
    this.expiryTimer ??= this.clock.set(() => this.expireDue(), this.holdMs);
  }

  private endHold(header: MessageHeader, goOn: boolean): boolean {
    const key = heldKey(header);
    const held = this.held.get(key);
    if (!held || this.closed) return false;
    this.held.delete(key);
    if (goOn) this.attempt(held.goOn);
    return true;
  }

  private expireDue(): void {
    this.expiryTimer = undefined;
    const now = this.clock.now();
    for (const [key, held] of this.held) {
      if (held.expiresAt > now) {
        this.expiryTimer = this.clock.set(() => this.expireDue(), held.expiresAt - now);
        return;
      }
      this.expire(key);
    }
  }

  private expire(key: string): void {
    const held = this.held.get(key)!;
    this.held.delete(key);
    this.deliver({ type: 'hold:expired', header: held.header });
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

  private attempt<T>(work: () => T): T | undefined {
    try {
      return work();
    } catch (error) {
      this.failed(error);
      return undefined;
    }
  }
}
