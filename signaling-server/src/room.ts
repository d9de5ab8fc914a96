import type { ObserverDelta, ObserverEvent, ObserverSnapshot, ServerToClientEvents } from '@cubecast/protocol';
import type { Logger } from './log.js';
import { ObserverFeed } from './observer-feed.js';
import { FloodWatch, type TickSource } from './flood-watch.js';
import type { HostConnection, HostLeave, OverlayController, Outbox } from './overlay-controller.js';
import type { RoomRequest } from './room-request.js';
import { handleRoomRequest } from './room-request.js';

/**
 * Leaves are gathered until none has come for LEAVE_QUIET_MS, at most LEAVE_BATCH_MAX_MS after
 * the first: a single leave waits 50 ms, a mass disconnect becomes one batch, not dozens. The
 * closes of 15000 sockets reach the server over about a second: cut at 500 ms, such a burst
 * took two ownership passes, the first (350 ms with its garbage collection) in the middle of
 * the closes, and its leaves came to 1.4-3.6x bare socket.io's; at 1500 ms it is one pass.
 */
export const LEAVE_QUIET_MS = 50;
export const LEAVE_BATCH_MAX_MS = 1500;

/** Quiet after the last leave before the cube may shrink: a burst of leaves re-embeds once. */
const SHRINK_AFTER_QUIET_MS = 1000;

/**
 * A batch cut by LEAVE_BATCH_MAX_MS while leaves still come is part of a burst: the deltas it
 * causes wait for the burst's end (most would go to hosts about to leave), at most this long.
 */
export const DELTAS_DEFERRED_MAX_MS = 2000;

/** How often hosts whose node went away are checked against the claim window. */
const CLAIM_SWEEP_MS = 1000;

export type HostEvent = keyof ServerToClientEvents;
export type ObserverMessage =
  | { readonly event: 'observer:delta'; readonly payload: ObserverDelta }
  | { readonly event: 'observer:event'; readonly payload: ObserverEvent }
  | { readonly event: 'observer:snapshot'; readonly payload: ObserverSnapshot };

/**
 * How a room's owner reaches the sockets, wherever they are: in one process, straight to
 * socket.io; with several nodes, over Redis to the node that holds each socket.
 */
export interface RoomDelivery {
  /** To one host's socket. */
  toHost(to: HostConnection, event: HostEvent, args: readonly unknown[]): void;
  /** To every host of the room on these nodes. */
  toHosts(nodes: ReadonlySet<string>, event: HostEvent, args: readonly unknown[]): void;
  /** Closes a host's socket. */
  dropHost(to: HostConnection): void;
  /** To every observer of the room, on every node. */
  toObservers(message: ObserverMessage): void;
}

export interface RoomOptions {
  readonly logger: Logger;
  /** Least time between two observer deltas. */
  readonly snapshotIntervalMs: number;
  /** Runs one entry point's work (a timer here): what it throws is logged, never the process's. */
  guard(where: string, work: () => void): void;
  /** Called after anything in the room changed (a room kept in Redis saves then). */
  changed?(): void;
  /** What the pending batch of leaves is checked on: by default a clock thread's ticks (FloodWatch). */
  leaveTicks?: TickSource;
}

/**
 * One overlay, as its owner holds it: its controller (cube, epoch, channels, subscriptions),
 * its leaves batched, its observer feed. It holds no socket: the gateways do (`Signaling`),
 * and what the controller says reaches them through the RoomDelivery.
 */
export class Room {
  readonly controller: OverlayController;
  private readonly feed = new ObserverFeed();
  private readonly startedAt = Date.now();
  /** What hosts whose join is not answered yet were sent, in order (see `answered`). */
  private readonly held = new Map<string, [HostEvent, readonly unknown[]][]>();
  /** Observers watching, per node. */
  private readonly observerCounts = new Map<string, number>();
  private pendingLeaves: HostLeave[] = [];
  private leaveBatchStartedAt = 0;
  private lastLeaveAt = 0;
  /** Since when deltas have waited for a burst of leaves to end. */
  private deltasDeferredSince: number | undefined;
  /**
   * Hands the batch over once it is due, checking it while it is pending. Not a timer: while
   * thousands of sockets close, their I/O holds timers back for up to seconds (see FloodWatch).
   */
  private readonly leaveWatch: FloodWatch;
  private shrinkTimer: NodeJS.Timeout | undefined;
  private snapshotTimer: NodeJS.Timeout | undefined;
  private readonly claimTimer: NodeJS.Timeout;
  private closedFlag = false;

  constructor(
    readonly name: string,
    createController: (outbox: Outbox) => OverlayController,
    private readonly delivery: RoomDelivery,
    private readonly options: RoomOptions,
  ) {
    this.leaveWatch = new FloodWatch(() => this.options.guard('host:leave', () => this.settleLeaves()), options.leaveTicks);
    this.controller = createController(this.outbox());
    this.claimTimer = setInterval(() => this.options.guard('host:claim', () => this.controller.expireUnclaimed()), CLAIM_SWEEP_MS);
    this.claimTimer.unref();
  }

  /** The nodes whose observers watch this room. */
  observerNodes(): IterableIterator<string> {
    return this.observerCounts.keys();
  }

  get observerCount(): number {
    let total = 0;
    for (const count of this.observerCounts.values()) total += count;
    return total;
  }

  /** Nothing here to keep: no host, none about to leave or to come back, no observer. */
  get idle(): boolean {
    const { store } = this.controller;
    return store.hosts.size === 0 && store.suspended.size === 0 && this.pendingLeaves.length === 0 && this.observerCount === 0;
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** One host's event, validated by its gateway; returns what its ack carries. */
  handle(request: RoomRequest): object | void {
    return handleRoomRequest(this, request);
  }

  /**
   * The answer to `request` went out (to the gateway, which acks it before anything sent
   * after): a joined host now gets what it was sent meanwhile, in order.
   */
  answered(request: RoomRequest, result: object | void): void {
    if (request.kind !== 'host' || request.event !== 'host:join') return;
    const hostId = (result as { hostId: string }).hostId;
    const waiting = this.held.get(hostId) ?? [];
    this.held.delete(hostId);
    const host = this.controller.store.hosts.get(hostId);
    if (host) for (const [event, args] of waiting) this.delivery.toHost(host, event, args);
    this.controller.answered(hostId);
  }

  /**
   * Sockets that close together (a mass disconnect, a gateway dying) go to the controller as
   * one batch: one ownership pass and one delta per affected host instead of one per leave.
   * A lone leave waits LEAVE_QUIET_MS, nothing beside the seconds failure detection takes.
   */
  queueLeave(leave: HostLeave): void {
    // A room closed with its server takes no more: see close().
    if (this.closedFlag) return;
    this.settleLeaves();
    const now = performance.now();
    if (this.pendingLeaves.push(leave) === 1) this.leaveBatchStartedAt = now;
    this.lastLeaveAt = now;
    // Not quiet: the shrink waits for SHRINK_AFTER_QUIET_MS after this burst's last batch, not
    // a batch in its middle (batches of a long burst are LEAVE_BATCH_MAX_MS apart, more than that).
    clearTimeout(this.shrinkTimer);
    this.leaveWatch.start();
  }

  /**
   * Hands the batch to the controller if it is due: quiet for LEAVE_QUIET_MS, or cut short at
   * LEAVE_BATCH_MAX_MS while leaves still come. Every leave calls this first, and the watch
   * while the batch is pending.
   */
  private settleLeaves(): void {
    if (this.pendingLeaves.length === 0) return;
    const now = performance.now();
    const quiet = now - this.lastLeaveAt >= LEAVE_QUIET_MS;
    if (!quiet && now - this.leaveBatchStartedAt < LEAVE_BATCH_MAX_MS) return;
    this.flushLeaves(!quiet);
  }

  /** How many observers of this room a node has now; the feed is built only while some watch. */
  setObservers(node: string, count: number): void {
    if (count > 0) this.observerCounts.set(node, count);
    else this.observerCounts.delete(node);
  }

  /** The snapshot a new observer starts from (the feed's current one), and the recent events. */
  openObserver(): { snapshot: ObserverSnapshot; events: ObserverEvent[] } {
    return { snapshot: this.feed.current(() => this.snapshot()), events: [...this.controller.store.events] };
  }

  /**
   * The room as it stands, to every observer: after the room changed owner, deltas follow
   * this snapshot rather than the one the old owner's observers had.
   */
  resendSnapshot(): void {
    this.feed.reset();
    if (this.observerCount > 0) this.delivery.toObservers({ event: 'observer:snapshot', payload: this.feed.current(() => this.snapshot()) });
  }

  /**
   * Stops its timers. A room closed with the server keeps its disconnects unhandled: they
   * are the server going away, not hosts leaving (see Signaling.close).
   */
  close(): void {
    this.closedFlag = true;
    this.leaveWatch.close();
    clearTimeout(this.shrinkTimer);
    clearTimeout(this.snapshotTimer);
    clearInterval(this.claimTimer);
  }

  /** The room as its observers see it; `controls` is each observer's own, set when it is sent. */
  private snapshot(): ObserverSnapshot {
    const snapshot = this.controller.snapshot({ enabled: false }, Math.round((Date.now() - this.startedAt) / 1000));
    return { ...snapshot, server: { ...snapshot.server, heapUsedBytes: process.memoryUsage().heapUsed } };
  }

  /** `cutShort`: the batch ends at LEAVE_BATCH_MAX_MS, not after a pause: leaves were still coming. */
  private flushLeaves(cutShort: boolean): void {
    const leaves = this.pendingLeaves;
    this.pendingLeaves = [];
    this.leaveWatch.stop();
    if (this.closedFlag || leaves.length === 0) return;
    const now = performance.now();
    const defer = cutShort && now - (this.deltasDeferredSince ?? now) < DELTAS_DEFERRED_MAX_MS;
    this.deltasDeferredSince = defer ? (this.deltasDeferredSince ?? now) : undefined;
    this.controller.leaveMany(leaves, { deferShrink: true, deferDeltas: defer });
    clearTimeout(this.shrinkTimer);
    this.shrinkTimer = setTimeout(
      () =>
        this.options.guard('cube:shrink', () => {
          // A burst whose last batch was cut short still owes its deltas.
          this.deltasDeferredSince = undefined;
          // A shrink sends every host its state: the deltas owed are then in it.
          this.controller.shrinkIfDue();
          this.controller.sendDueDeltas();
        }),
      SHRINK_AFTER_QUIET_MS,
    );
    this.shrinkTimer.unref();
  }

  private hold(hostId: string, event: HostEvent, args: readonly unknown[]): void {
    let waiting = this.held.get(hostId);
    if (!waiting) this.held.set(hostId, (waiting = []));
    waiting.push([event, args]);
  }

  private changed(): void {
    this.options.changed?.();
    this.scheduleSnapshot();
  }

  /**
   * One delta for the room's observers, at most one per interval, only when something
   * changed: the snapshot is built and compared once, and socket.io encodes a broadcast once.
   */
  private scheduleSnapshot(): void {
    if (this.snapshotTimer || this.closedFlag) return;
    if (this.observerCount === 0) {
      this.feed.reset();
      return;
    }
    this.snapshotTimer = setTimeout(
      () =>
        this.options.guard('observer:delta', () => {
          this.snapshotTimer = undefined;
          const delta = this.feed.advance(this.snapshot());
          if (delta) this.delivery.toObservers({ event: 'observer:delta', payload: delta });
        }),
      this.options.snapshotIntervalMs,
    );
    this.snapshotTimer.unref();
  }

  private outbox(): Outbox {
    // Called before the controller exists: it is looked up when a message goes.
    const hosts = () => this.controller.store.hosts;
    return {
      host: (hostId, event, ...args) => {
        const host = hosts().get(hostId);
        if (!host || host.unclaimedSince !== undefined) return;
        if (this.controller.awaitsAnswer(hostId)) this.hold(hostId, event, args);
        else this.delivery.toHost(host, event, args);
      },
      allHosts: (event, ...args) => {
        this.delivery.toHosts(this.controller.hostNodes(), event, args);
        // Sockets whose join is not answered are not in the room's broadcast yet.
        for (const hostId of this.controller.hostsAwaitingAnswer()) this.hold(hostId, event, args);
      },
      observerEvent: (event) => {
        this.options.logger.log(event.type === 'rejected' ? 'warn' : 'info', `overlay:${event.type}`, {
          room: this.name,
          message: event.message,
          ...(event.hostId !== undefined && { hostId: event.hostId }),
        });
        if (this.observerCount > 0) this.delivery.toObservers({ event: 'observer:event', payload: event });
        this.changed();
      },
      changed: () => this.changed(),
      // An observer's kill: the host is gone now, whatever its socket's close says later.
      disconnect: (hostId) => {
        const host = hosts().get(hostId);
        if (!host) return;
        this.delivery.dropHost(host);
        this.controller.leave(hostId, 'killed');
      },
      dropConnection: (node, connection) => this.delivery.dropHost({ node, connection }),
    };
  }
}
