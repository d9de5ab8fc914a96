import { timingSafeEqual } from 'node:crypto';
import {
  ackFromError,
  CLIENT_EVENT_SCHEMAS,
  ControlsDisabledError,
  ForbiddenError,
  NotJoinedError,
  AlreadyJoinedError,
  OBSERVER_EVENT_SCHEMAS,
  parsePayload,
  RateLimitedError,
  isWireError,
  BadPayloadError,
  type ClientToServerEvents,
  type ObserverClientEvents,
  type ObserverServerEvents,
  type ObserverSnapshot,
  type ServerToClientEvents,
} from '@cubecast/protocol';
import type { Namespace, Server, Socket } from 'socket.io';
import type { Logger } from './log.js';
import { ObserverFeed } from './observer-feed.js';
import { OverlayController, type LeaveReason, type Outbox } from './overlay-controller.js';
import { TokenBucket, type RateLimit } from './rate-limiter.js';

export interface SignalingOptions {
  /** Observer controls need this token; without one they are off. */
  readonly adminToken: string | undefined;
  readonly rateLimit: RateLimit;
  readonly logger: Logger;
  /** Least time between two observer deltas. */
  readonly snapshotIntervalMs: number;
  /** Observers connected at once; more are refused at connection. */
  readonly maxObservers: number;
  /**
   * Bytes the server may hold for one socket that it could not send yet (socket.io's write
   * buffer plus the WebSocket's). A client that stops reading is dropped past it instead of
   * growing the server until its ping times out.
   */
  readonly maxBufferedBytesPerSocket: number;
}

/**
 * Leaves are gathered until none has come for LEAVE_QUIET_MS, at most LEAVE_BATCH_MAX_MS after
 * the first: a single leave waits 50 ms, a mass disconnect becomes one batch, not dozens.
 */
const LEAVE_QUIET_MS = 50;
const LEAVE_BATCH_MAX_MS = 500;

/** Quiet after the last leave before the cube may shrink: a burst of leaves re-embeds once. */
const SHRINK_AFTER_QUIET_MS = 1000;

/** How often every socket's unsent bytes are checked (besides after each message to a host). */
const BUFFER_SWEEP_MS = 1000;

/** What socket.io holds for a socket and has not handed to the kernel yet, in bytes. */
function unsentBytes(socket: Socket): number {
  const conn = socket.conn as unknown as { writeBuffer?: { data?: unknown }[]; transport?: { socket?: { bufferedAmount?: number } } };
  let bytes = conn.transport?.socket?.bufferedAmount ?? 0;
  for (const packet of conn.writeBuffer ?? []) {
    const data = packet.data;
    bytes += typeof data === 'string' ? data.length : ((data as { byteLength?: number } | undefined)?.byteLength ?? 0);
  }
  return bytes;
}

type HostSocket = Socket<ClientToServerEvents, ServerToClientEvents>;
type ObserverNamespace = Namespace<ObserverClientEvents, ObserverServerEvents>;
type Handler = (data: never, socket: HostSocket) => object | void;
type AnySocket = Socket<never, never>;

const HOSTS_ROOM = 'hosts';

/** socket.io's disconnect reasons: a silent or broken transport is a failure, not a leave. */
function leaveReason(reason: string): LeaveReason {
  if (reason === 'ping timeout' || reason === 'transport error') return 'failure';
  return 'disconnect';
}

/**
 * The socket layer: every event is rate-limited, validated against its schema and handed to
 * the controller; every refusal is an error ack `{ok:false, code, message}`, is counted, and
 * changes nothing. Unknown events are refused the same way.
 */
export class Signaling {
  readonly controller: OverlayController;
  private readonly sockets = new Map<string, HostSocket>();
  /** Hosts the server dropped (an observer's kill, a socket that stopped reading), and why. */
  private readonly dropped = new Map<string, LeaveReason>();
  /** When each host (or '(not joined)') last had a 'rejected' event logged. */
  private readonly lastRejectedEvent = new Map<string, number>();
  private readonly observers: ObserverNamespace;
  private snapshotTimer: NodeJS.Timeout | undefined;
  private readonly sweepTimer: NodeJS.Timeout;
  private readonly feed = new ObserverFeed();
  private readonly startedAt = Date.now();
  private readonly handlers: Record<keyof typeof CLIENT_EVENT_SCHEMAS, Handler>;
  private closed = false;
  /** Disconnects of this turn of the event loop, handled together once it ends. */
  private pendingLeaves: { hostId: string; reason: LeaveReason }[] = [];
  private shrinkTimer: NodeJS.Timeout | undefined;
  private leaveTimer: NodeJS.Timeout | undefined;
  private leaveBatchStartedAt = 0;

  constructor(
    private readonly io: Server,
    createController: (outbox: Outbox) => OverlayController,
    private readonly options: SignalingOptions,
  ) {
    this.observers = io.of('/observer');
    this.controller = createController(this.outbox());
    const c = this.controller;
    const hostOf = (socket: HostSocket): string => {
      const hostId = socket.data.hostId as string | undefined;
      if (!hostId) throw new NotJoinedError('join first (host:join)');
      return hostId;
    };
    this.handlers = {
      'host:join': (data: { name?: string; emulation?: object }, socket) => {
        if (socket.data.hostId) throw new AlreadyJoinedError(`this connection is host ${socket.data.hostId as string}`);
        const { hostId, ...result } = c.join(data);
        socket.data.hostId = hostId;
        this.sockets.set(hostId, socket);
        void socket.join(HOSTS_ROOM);
        return result;
      },
      'host:leave': (_data, socket) => {
        const hostId = hostOf(socket);
        socket.data.hostId = undefined;
        this.sockets.delete(hostId);
        void socket.leave(HOSTS_ROOM);
        c.leave(hostId, 'leave');
      },
      'signal:send': (data: Parameters<OverlayController['relaySignal']>[1], socket) => c.relaySignal(hostOf(socket), data),
      'channel:publish': (data: Parameters<OverlayController['publish']>[1], socket) => ({ channel: c.publish(hostOf(socket), data) }),
      'channel:unpublish': (data: { name: string }, socket) => c.unpublish(hostOf(socket), data.name),
      'channel:list': (_data, socket) => {
        hostOf(socket);
        return { channels: c.channels() };
      },
      'subscription:create': (data: Parameters<OverlayController['subscribe']>[1], socket) => ({
        subscription: c.subscribe(hostOf(socket), data),
      }),
      'subscription:delete': (data: { subscriptionId: string }, socket) => c.unsubscribe(hostOf(socket), data.subscriptionId),
      'subscription:report': (data: Parameters<OverlayController['report']>[1], socket) => ({
        boundMet: c.report(hostOf(socket), data),
      }),
      'link:report': (data: Parameters<OverlayController['reportLinks']>[1], socket) => c.reportLinks(hostOf(socket), data),
      'spa:report': (data: Parameters<OverlayController['reportSpas']>[1], socket) => c.reportSpas(hostOf(socket), data),
    };
    io.of('/').on('connection', (socket: HostSocket) => this.guard('host:connection', () => this.onHost(socket)));
    this.observers.use((_socket, next) => {
      if (this.observers.sockets.size < options.maxObservers) next();
      else next(new Error(`the server has ${options.maxObservers} observers connected, the most it takes: try again later`));
    });
    this.observers.on('connection', (socket) => this.guard('observer:connection', () => this.onObserver(socket)));
    this.sweepTimer = setInterval(() => this.guard('socket:sweep', () => this.dropSlowSockets()), BUFFER_SWEEP_MS);
    this.sweepTimer.unref();
  }

  /**
   * Stops before the sockets are closed: their disconnects are then the server going away,
   * not hosts leaving. Processing them would tell the hosts still connected that every channel
   * of a host closed before them is gone, and they would give up subscriptions they should
   * set up again on the next server.
   */
  close(): void {
    this.closed = true;
    clearTimeout(this.snapshotTimer);
    clearTimeout(this.shrinkTimer);
    clearTimeout(this.leaveTimer);
    clearInterval(this.sweepTimer);
  }

  /**
   * Runs one entry point's work (a socket event, a timer, a connection): whatever it throws
   * is logged and ends there, never in the process.
   */
  private guard(where: string, work: () => void): void {
    try {
      work();
    } catch (error) {
      this.options.logger.log('error', 'server:fault', { where, error: error instanceof Error ? error.stack : String(error) });
    }
  }

  private dropSlowSockets(): void {
    for (const socket of this.io.of('/').sockets.values()) this.dropIfSlow(socket);
    for (const socket of this.observers.sockets.values()) this.dropIfSlow(socket);
  }

  /**
   * Drops a socket whose client stopped reading. The drop waits for the current task: it may
   * be found while the controller is in the middle of a change, which its leave must not cut.
   */
  private dropIfSlow(socket: AnySocket | HostSocket): void {
    if (socket.data.droppingSlow === true || socket.disconnected) return;
    const unsent = unsentBytes(socket);
    if (unsent <= this.options.maxBufferedBytesPerSocket) return;
    socket.data.droppingSlow = true;
    const hostId = socket.data.hostId as string | undefined;
    this.options.logger.log('warn', 'socket:slow', { hostId, unsentBytes: unsent });
    this.controller.store.counters.slowSocketsDropped++;
    setImmediate(() =>
      this.guard('socket:drop', () => {
        if (hostId) this.dropped.set(hostId, 'failure');
        socket.disconnect(true);
        // A graceful close would wait behind the unsent bytes; they are what must go now.
        (socket.conn.transport as unknown as { socket?: { terminate?: () => void } }).socket?.terminate?.();
      }),
    );
  }

  private onHost(socket: HostSocket): void {
    const bucket = new TokenBucket(this.options.rateLimit);
    this.refuseUnknownEvents(socket, CLIENT_EVENT_SCHEMAS, bucket);
    for (const event of Object.keys(CLIENT_EVENT_SCHEMAS) as (keyof typeof CLIENT_EVENT_SCHEMAS)[]) {
      socket.on(event, (...args: unknown[]) => {
        // A client may send an ack with no payload: the callback then comes first.
        const [payload, ack] = typeof args[0] === 'function' ? [undefined, args[0]] : [args[0], args[1]];
        const hostId = socket.data.hostId as string | undefined;
        if (!bucket.take()) {
          this.refuse(hostId, event, new RateLimitedError(`more than ${this.options.rateLimit.perSecond} events a second`), ack);
          return;
        }
        try {
          const data = parsePayload(CLIENT_EVENT_SCHEMAS[event], payload, event);
          const result = this.handlers[event](data as never, socket);
          if (typeof ack === 'function') ack({ ok: true, ...(result ?? {}) });
        } catch (error) {
          this.refuse(hostId, event, error, ack);
        }
      });
    }
    socket.on('disconnect', (reason) =>
      this.guard('host:disconnect', () => {
        const hostId = socket.data.hostId as string | undefined;
        if (!hostId || this.closed) return;
        this.sockets.delete(hostId);
        const dropped = this.dropped.get(hostId);
        this.dropped.delete(hostId);
        this.queueLeave(hostId, dropped ?? leaveReason(reason));
      }),
    );
  }

  /**
   * Sockets that close together (a mass disconnect, a gateway dying) go to the controller as
   * one batch: one ownership pass and one delta per affected host instead of one per leave.
   * A lone leave waits LEAVE_QUIET_MS, nothing beside the seconds failure detection takes.
   */
  private queueLeave(hostId: string, reason: LeaveReason): void {
    const first = this.pendingLeaves.push({ hostId, reason }) === 1;
    if (first) this.leaveBatchStartedAt = performance.now();
    clearTimeout(this.leaveTimer);
    // A burst's closes trickle in over a few hundred ms: wait for a pause, but not forever.
    const wait = Math.min(LEAVE_QUIET_MS, this.leaveBatchStartedAt + LEAVE_BATCH_MAX_MS - performance.now());
    this.leaveTimer = setTimeout(() => this.guard('host:leave', () => this.flushLeaves()), Math.max(0, wait));
    this.leaveTimer.unref();
  }

  private flushLeaves(): void {
    const leaves = this.pendingLeaves;
    this.pendingLeaves = [];
    if (this.closed || leaves.length === 0) return;
    this.controller.leaveMany(leaves, { deferShrink: true });
    clearTimeout(this.shrinkTimer);
    this.shrinkTimer = setTimeout(() => this.guard('cube:shrink', () => this.controller.shrinkIfDue()), SHRINK_AFTER_QUIET_MS);
    this.shrinkTimer.unref();
  }

  /**
   * Events outside the schema map are refused with BAD_PAYLOAD and cost a token like any
   * other. `Object.hasOwn`, not `in`: `constructor` or `__proto__` are no events of ours.
   */
  private refuseUnknownEvents(socket: HostSocket | AnySocket, schemas: object, bucket: TokenBucket): void {
    socket.onAny((event: string, ...args: unknown[]) => {
      if (Object.hasOwn(schemas, event)) return;
      const name = String(event).slice(0, 64);
      const error = bucket.take() ? new BadPayloadError(`unknown event "${name}"`) : new RateLimitedError(`more than ${this.options.rateLimit.perSecond} events a second`);
      this.refuse(socket.data.hostId as string | undefined, name, error, args.at(-1));
    });
  }

  /** Answers a refusal, counts it and logs it; never throws. */
  private refuse(hostId: string | undefined, event: string, error: unknown, ack: unknown): void {
    if (!isWireError(error)) {
      this.options.logger.log('error', 'request:failed', { event, hostId, error: error instanceof Error ? error.stack : String(error) });
    }
    const reply = ackFromError(error);
    this.guard('request:refused', () => {
      this.controller.countRejected(hostId);
      this.noteRejected(hostId, event, reply.code, reply.message);
    });
    if (typeof ack === 'function') {
      try {
        (ack as (r: unknown) => void)(reply);
      } catch {
        // An ack that throws is the client's problem; the refusal stands.
      }
    }
  }

  /** At most one 'rejected' observer event per host (or anonymous socket) per second. */
  private noteRejected(hostId: string | undefined, event: string, code: string, message: string): void {
    const key = hostId ?? '(not joined)';
    const now = Date.now();
    if (now - (this.lastRejectedEvent.get(key) ?? 0) < 1000) return;
    this.lastRejectedEvent.set(key, now);
    if (this.lastRejectedEvent.size > 10_000) this.lastRejectedEvent.clear();
    this.controller.logEvent('rejected', `${key}: ${event} refused (${code}): ${message}`, hostId, { event, code });
  }

  private onObserver(socket: Socket<ObserverClientEvents, ObserverServerEvents>): void {
    const controls = this.controlsFor(socket.handshake.auth as Record<string, unknown> | undefined);
    const bucket = new TokenBucket(this.options.rateLimit);
    socket.emit('observer:snapshot', { ...this.feed.current(() => this.snapshot()), controls });
    for (const event of this.controller.store.events) socket.emit('observer:event', event);
    const c = this.controller;
    const actions: Record<keyof typeof OBSERVER_EVENT_SCHEMAS, (data: never) => object | void> = {
      'control:kill': (data: { hostId: string }) => c.kill(data.hostId),
      'control:emulation': (data: { hostId: string; emulation: Parameters<OverlayController['setEmulation']>[1] }) =>
        c.setEmulation(data.hostId, data.emulation),
      'control:policy': (data: { policy: Parameters<OverlayController['setPolicy']>[0] }) => c.setPolicy(data.policy),
      'control:reembed': (data: { k?: number; n?: number }) => c.forceReembed(data),
    };
    this.refuseUnknownEvents(socket as unknown as AnySocket, OBSERVER_EVENT_SCHEMAS, bucket);
    for (const event of Object.keys(OBSERVER_EVENT_SCHEMAS) as (keyof typeof OBSERVER_EVENT_SCHEMAS)[]) {
      socket.on(event, (...args: unknown[]) => {
        const [payload, ack] = typeof args[0] === 'function' ? [undefined, args[0]] : [args[0], args[1]];
        try {
          if (!bucket.take()) throw new RateLimitedError('too many control requests');
          if (!controls.enabled) {
            throw this.options.adminToken === undefined
              ? new ControlsDisabledError('observer controls are off: the server has no CUBECAST_ADMIN_TOKEN')
              : new ForbiddenError('observer controls need the admin token');
          }
          const data = parsePayload(OBSERVER_EVENT_SCHEMAS[event], payload, event);
          const result = actions[event](data as never);
          this.options.logger.log('info', 'control:done', { event, payload: data });
          if (typeof ack === 'function') ack({ ok: true, ...(result ?? {}) });
        } catch (error) {
          this.refuse(undefined, event, error, ack);
        }
      });
    }
  }

  private controlsFor(auth: Record<string, unknown> | undefined): ObserverSnapshot['controls'] {
    const expected = this.options.adminToken;
    if (expected === undefined) return { enabled: false, reason: 'the server has no CUBECAST_ADMIN_TOKEN, so controls are off' };
    const given = typeof auth?.token === 'string' ? Buffer.from(auth.token) : Buffer.alloc(0);
    const wanted = Buffer.from(expected);
    const ok = given.length === wanted.length && timingSafeEqual(given, wanted);
    return ok ? { enabled: true } : { enabled: false, reason: 'connected without the admin token: view only' };
  }

  /** The overlay as observers see it; `controls` is each observer's own, set when it is sent. */
  private snapshot(): ObserverSnapshot {
    const snapshot = this.controller.snapshot({ enabled: false }, Math.round((Date.now() - this.startedAt) / 1000));
    return { ...snapshot, server: { ...snapshot.server, heapUsedBytes: process.memoryUsage().heapUsed } };
  }

  /**
   * One delta for all observers, at most one per interval, only when something changed: the
   * snapshot is built and compared once, and socket.io encodes a broadcast once.
   */
  private scheduleSnapshot(): void {
    if (this.snapshotTimer) return;
    if (this.observers.sockets.size === 0) {
      this.feed.reset();
      return;
    }
    this.snapshotTimer = setTimeout(
      () =>
        this.guard('observer:delta', () => {
          this.snapshotTimer = undefined;
          const delta = this.feed.advance(this.snapshot());
          if (!delta) return;
          this.observers.emit('observer:delta', delta);
          for (const socket of this.observers.sockets.values()) this.dropIfSlow(socket);
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
        this.dropIfSlow(socket);
      },
      allHosts: (event, ...args) => {
        this.io.of('/').to(HOSTS_ROOM).emit(event, ...args);
      },
      observerEvent: (event) => {
        this.options.logger.log(event.type === 'rejected' ? 'warn' : 'info', `overlay:${event.type}`, {
          message: event.message,
          ...(event.hostId !== undefined && { hostId: event.hostId }),
        });
        this.observers.emit('observer:event', event);
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
