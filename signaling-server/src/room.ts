import type { ClientToServerEvents, ObserverClientEvents, ObserverServerEvents, ObserverSnapshot, ServerToClientEvents } from '@cubecast/protocol';
import type { Namespace, Server, Socket } from 'socket.io';
import type { Logger } from './log.js';
import { ObserverFeed } from './observer-feed.js';
import type { LeaveReason, OverlayController, Outbox } from './overlay-controller.js';

export type HostSocket = Socket<ClientToServerEvents, ServerToClientEvents>;
export type ObserverNamespace = Namespace<ObserverClientEvents, ObserverServerEvents>;

/**
 * Leaves are gathered until none has come for LEAVE_QUIET_MS, at most LEAVE_BATCH_MAX_MS after
 * the first: a single leave waits 50 ms, a mass disconnect becomes one batch, not dozens.
 */
const LEAVE_QUIET_MS = 50;
const LEAVE_BATCH_MAX_MS = 500;

/** Quiet after the last leave before the cube may shrink: a burst of leaves re-embeds once. */
const SHRINK_AFTER_QUIET_MS = 1000;

export interface RoomOptions {
  readonly logger: Logger;
  /** Least time between two observer deltas. */
  readonly snapshotIntervalMs: number;
  /** Runs one entry point's work (a timer here): what it throws is logged, never the process's. */
  guard(where: string, work: () => void): void;
  /** Drops a socket whose client stopped reading (checked after each message to a host). */
  dropIfSlow(socket: Socket): void;
}

/**
 * One overlay: its own cube, epoch, channels, subscriptions and observers, all in its
 * controller's store. The gateway (`Signaling`) validates and dispatches; a room holds the
 * sockets of its hosts, batches their leaves, and feeds its observers.
 */
export class Room {
  readonly controller: OverlayController;
  /** The room's hosts by host id. */
  readonly sockets = new Map<string, HostSocket>();
  /** Hosts the server dropped (an observer's kill, a socket that stopped reading), and why. */
  readonly dropped = new Map<string, LeaveReason>();
  private readonly feed = new ObserverFeed();
  private readonly startedAt = Date.now();
  private pendingLeaves: { hostId: string; reason: LeaveReason }[] = [];
  private leaveBatchStartedAt = 0;
  private leaveTimer: NodeJS.Timeout | undefined;
  private shrinkTimer: NodeJS.Timeout | undefined;
  private snapshotTimer: NodeJS.Timeout | undefined;
  private closedFlag = false;

  constructor(
    readonly name: string,
    private readonly io: Server,
    private readonly observers: ObserverNamespace,
    createController: (outbox: Outbox) => OverlayController,
    private readonly options: RoomOptions,
  ) {
    this.controller = createController(this.outbox());
  }

  /** The socket.io room of this room's hosts (default namespace). */
  get hostsChannel(): string {
    return `hosts:${this.name}`;
  }

  /** The socket.io room of this room's observers (the observer namespace). */
  get observersChannel(): string {
    return `observers:${this.name}`;
  }

  get observerCount(): number {
    return this.observers.adapter.rooms.get(this.observersChannel)?.size ?? 0;
  }

  /** Nothing here to keep: no host, none about to leave, no observer. */
  get idle(): boolean {
    return this.sockets.size === 0 && this.controller.store.hosts.size === 0 && this.pendingLeaves.length === 0 && this.observerCount === 0;
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /**
   * Sockets that close together (a mass disconnect, a gateway dying) go to the controller as
   * one batch: one ownership pass and one delta per affected host instead of one per leave.
   * A lone leave waits LEAVE_QUIET_MS, nothing beside the seconds failure detection takes.
   */
  queueLeave(hostId: string, reason: LeaveReason): void {
    if (this.pendingLeaves.push({ hostId, reason }) === 1) this.leaveBatchStartedAt = performance.now();
    clearTimeout(this.leaveTimer);
    // A burst's closes trickle in over a few hundred ms: wait for a pause, but not forever.
    const wait = Math.min(LEAVE_QUIET_MS, this.leaveBatchStartedAt + LEAVE_BATCH_MAX_MS - performance.now());
    this.leaveTimer = setTimeout(() => this.options.guard('host:leave', () => this.flushLeaves()), Math.max(0, wait));
    this.leaveTimer.unref();
  }

  /** The room as its observers see it; `controls` is each observer's own, set when it is sent. */
  snapshot(): ObserverSnapshot {
    const snapshot = this.controller.snapshot({ enabled: false }, Math.round((Date.now() - this.startedAt) / 1000));
    return { ...snapshot, server: { ...snapshot.server, heapUsedBytes: process.memoryUsage().heapUsed } };
  }

  /** The snapshot a new observer starts from (the feed's current one). */
  currentSnapshot(): ObserverSnapshot {
    return this.feed.current(() => this.snapshot());
  }

  /**
   * Stops its timers. A room closed with the server keeps its disconnects unhandled: they
   * are the server going away, not hosts leaving (see Signaling.close).
   */
  close(): void {
    this.closedFlag = true;
    clearTimeout(this.leaveTimer);
    clearTimeout(this.shrinkTimer);
    clearTimeout(this.snapshotTimer);
  }

  private flushLeaves(): void {
    const leaves = this.pendingLeaves;
    this.pendingLeaves = [];
    if (this.closedFlag || leaves.length === 0) return;
    this.controller.leaveMany(leaves, { deferShrink: true });
    clearTimeout(this.shrinkTimer);
    this.shrinkTimer = setTimeout(() => this.options.guard('cube:shrink', () => this.controller.shrinkIfDue()), SHRINK_AFTER_QUIET_MS);
    this.shrinkTimer.unref();
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
          if (!delta) return;
          this.observers.to(this.observersChannel).emit('observer:delta', delta);
          for (const socket of this.observers.sockets.values()) if (socket.data.room === this.name) this.options.dropIfSlow(socket);
        }),
      this.options.snapshotIntervalMs,
    );
    this.snapshotTimer.unref();
  }

  private outbox(): Outbox {
    return {
      host: (hostId, event, ...args) => {
        const socket = this.sockets.get(hostId);
        if (!socket) return;
        socket.emit(event, ...args);
        this.options.dropIfSlow(socket);
      },
      allHosts: (event, ...args) => {
        this.io.of('/').to(this.hostsChannel).emit(event, ...args);
      },
      observerEvent: (event) => {
        this.options.logger.log(event.type === 'rejected' ? 'warn' : 'info', `overlay:${event.type}`, {
          room: this.name,
          message: event.message,
          ...(event.hostId !== undefined && { hostId: event.hostId }),
        });
        this.observers.to(this.observersChannel).emit('observer:event', event);
        this.scheduleSnapshot();
      },
      changed: () => this.scheduleSnapshot(),
      disconnect: (hostId) => {
        const socket = this.sockets.get(hostId);
        if (!socket) return;
        this.dropped.set(hostId, 'killed');
        socket.disconnect(true);
      },
    };
  }
}
