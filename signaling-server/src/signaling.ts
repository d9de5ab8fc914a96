import { timingSafeEqual } from 'node:crypto';
import {
  ackFromError,
  CLIENT_EVENT_SCHEMAS,
  ControlsDisabledError,
  DEFAULT_ROOM,
  ForbiddenError,
  LimitExceededError,
  NotJoinedError,
  AlreadyJoinedError,
  OBSERVER_EVENT_SCHEMAS,
  parsePayload,
  RateLimitedError,
  roomNameSchema,
  isWireError,
  BadPayloadError,
  type ClientPayload,
  type ObserverClientEvents,
  type ObserverServerEvents,
  type ObserverSnapshot,
} from '@cubecast/protocol';
import type { Server, Socket } from 'socket.io';
import type { Logger } from './log.js';
import type { LeaveReason, OverlayController, Outbox } from './overlay-controller.js';
import { TokenBucket, type RateLimit } from './rate-limiter.js';
import { Room, type HostSocket, type ObserverNamespace } from './room.js';

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
  /** Rooms one server holds at once; a join or observer naming one more is refused. */
  readonly maxRooms: number;
}

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

/** One handler per client event, its payload typed by the event's schema (what validation gives). */
type Handlers = { [E in keyof typeof CLIENT_EVENT_SCHEMAS]: (data: ClientPayload<E>, socket: HostSocket, room: Room) => object | void };
type AnySocket = Socket<never, never>;

/** socket.io's disconnect reasons: a silent or broken transport is a failure, not a leave. */
function leaveReason(reason: string): LeaveReason {
  if (reason === 'ping timeout' || reason === 'transport error') return 'failure';
  return 'disconnect';
}

/**
 * The gateway: every event is rate-limited, validated against its schema and handed to the
 * controller of the socket's room; every refusal is an error ack `{ok:false, code, message}`,
 * is counted, and changes nothing. Unknown events are refused the same way. Rooms are made by
 * the first host or observer that names one and dropped once nobody is in them (the
 * default room stays).
 */
export class Signaling {
  private readonly rooms = new Map<string, Room>();
  /** When each host (or '(not joined)') last had a 'rejected' event logged. */
  private readonly lastRejectedEvent = new Map<string, number>();
  private readonly observers: ObserverNamespace;
  private readonly sweepTimer: NodeJS.Timeout;
  private readonly handlers: Handlers;
  private readonly defaultRoom: Room;
  private closed = false;

  constructor(
    private readonly io: Server,
    private readonly createController: (outbox: Outbox, room: string) => OverlayController,
    private readonly options: SignalingOptions,
  ) {
    this.observers = io.of('/observer');
    this.defaultRoom = this.room(DEFAULT_ROOM);
    const hostOf = (socket: HostSocket): string => {
      const hostId = socket.data.hostId as string | undefined;
      if (!hostId) throw new NotJoinedError('join first (host:join)');
      return hostId;
    };
    this.handlers = {
      'host:join': (data, socket) => {
        if (socket.data.hostId) throw new AlreadyJoinedError(`this connection is host ${socket.data.hostId as string}`);
        const room = this.room(data.room ?? DEFAULT_ROOM);
        const { hostId, ...result } = room.controller.join(data);
        socket.data.hostId = hostId;
        socket.data.room = room.name;
        room.sockets.set(hostId, socket);
        void socket.join(room.hostsChannel);
        return result;
      },
      'host:leave': (_data, socket, room) => {
        const hostId = hostOf(socket);
        socket.data.hostId = undefined;
        room.sockets.delete(hostId);
        void socket.leave(room.hostsChannel);
        room.controller.leave(hostId, 'leave');
      },
      'signal:send': (data, socket, room) => room.controller.relaySignal(hostOf(socket), data),
      'channel:publish': (data, socket, room) => ({ channel: room.controller.publish(hostOf(socket), data) }),
      'channel:unpublish': (data, socket, room) => room.controller.unpublish(hostOf(socket), data.name),
      'channel:list': (_data, socket, room) => {
        hostOf(socket);
        return { channels: room.controller.channels() };
      },
      'subscription:create': (data, socket, room) => ({
        subscription: room.controller.subscribe(hostOf(socket), data),
      }),
      'subscription:delete': (data, socket, room) => room.controller.unsubscribe(hostOf(socket), data.subscriptionId),
      'subscription:report': (data, socket, room) => ({
        boundMet: room.controller.report(hostOf(socket), data),
      }),
      'link:report': (data, socket, room) => room.controller.reportLinks(hostOf(socket), data),
      'spa:report': (data, socket, room) => room.controller.reportSpas(hostOf(socket), data),
    };
    io.of('/').on('connection', (socket: HostSocket) => this.guard('host:connection', () => this.onHost(socket)));
    this.observers.use((socket, next) => {
      if (this.observers.sockets.size >= options.maxObservers) {
        next(new Error(`the server has ${options.maxObservers} observers connected, the most it takes: try again later`));
        return;
      }
      try {
        const named = (socket.handshake.auth as Record<string, unknown> | undefined)?.room ?? DEFAULT_ROOM;
        const parsed = roomNameSchema.safeParse(named);
        if (!parsed.success) throw new BadPayloadError('a room name is 1 to 64 letters, digits, spaces, dots, dashes or underscores');
        socket.data.room = this.room(parsed.data).name;
        next();
      } catch (error) {
        next(new Error(error instanceof Error ? error.message : String(error)));
      }
    });
    this.observers.on('connection', (socket) => this.guard('observer:connection', () => this.onObserver(socket)));
    this.sweepTimer = setInterval(
      () =>
        this.guard('socket:sweep', () => {
          this.dropSlowSockets();
          this.dropIdleRooms();
        }),
      BUFFER_SWEEP_MS,
    );
    this.sweepTimer.unref();
  }

  /** The default room's controller (the room of a server that never sees another). */
  get controller(): OverlayController {
    return this.defaultRoom.controller;
  }

  /** A room's controller, if the room exists. */
  roomController(name: string): OverlayController | undefined {
    return this.rooms.get(name)?.controller;
  }

  /** Every room's controller, by room name. */
  controllers(): Map<string, OverlayController> {
    return new Map([...this.rooms].map(([name, room]) => [name, room.controller]));
  }

  /**
   * Stops before the sockets are closed: their disconnects are then the server going away,
   * not hosts leaving. Processing them would tell the hosts still connected that every channel
   * of a host closed before them is gone, and they would give up subscriptions they should
   * set up again on the next server.
   */
  close(): void {
    this.closed = true;
    for (const room of this.rooms.values()) room.close();
    clearInterval(this.sweepTimer);
  }

  /** The room by that name, made if there is none and the server may hold one more. */
  private room(name: string): Room {
    const existing = this.rooms.get(name);
    if (existing) return existing;
    if (this.rooms.size >= this.options.maxRooms) throw new LimitExceededError(`the server holds ${this.options.maxRooms} rooms, the most it takes`);
    const room = new Room(name, this.io, this.observers, (outbox) => this.createController(outbox, name), {
      logger: this.options.logger,
      snapshotIntervalMs: this.options.snapshotIntervalMs,
      guard: (where, work) => this.guard(where, work),
      dropIfSlow: (socket) => this.dropIfSlow(socket),
    });
    this.rooms.set(name, room);
    return room;
  }

  /** The room a socket joined (or observes); the default one for a socket that has not joined. */
  private roomOf(socket: AnySocket | HostSocket): Room {
    return this.rooms.get(socket.data.room as string) ?? this.defaultRoom;
  }

  private dropIdleRooms(): void {
    for (const [name, room] of this.rooms) {
      if (room === this.defaultRoom || !room.idle) continue;
      room.close();
      this.rooms.delete(name);
    }
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
    const room = this.roomOf(socket);
    room.controller.store.counters.slowSocketsDropped++;
    setImmediate(() =>
      this.guard('socket:drop', () => {
        if (hostId) room.dropped.set(hostId, 'failure');
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
          this.refuse(socket, hostId, event, new RateLimitedError(`more than ${this.options.rateLimit.perSecond} events a second`), ack);
          return;
        }
        try {
          const data = parsePayload(CLIENT_EVENT_SCHEMAS[event], payload, event);
          // The map's key and payload agree per event; TypeScript cannot follow that through a loop variable.
          const result = (this.handlers[event] as (data: unknown, socket: HostSocket, room: Room) => object | void)(data, socket, this.roomOf(socket));
          if (typeof ack === 'function') ack({ ok: true, ...(result ?? {}) });
        } catch (error) {
          this.refuse(socket, hostId, event, error, ack);
        }
      });
    }
    socket.on('disconnect', (reason) =>
      this.guard('host:disconnect', () => {
        const hostId = socket.data.hostId as string | undefined;
        if (!hostId || this.closed) return;
        const room = this.roomOf(socket);
        room.sockets.delete(hostId);
        const dropped = room.dropped.get(hostId);
        room.dropped.delete(hostId);
        room.queueLeave(hostId, dropped ?? leaveReason(reason));
      }),
    );
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
      this.refuse(socket, socket.data.hostId as string | undefined, name, error, args.at(-1));
    });
  }

  /** Answers a refusal, counts it and logs it; never throws. */
  private refuse(socket: AnySocket | HostSocket, hostId: string | undefined, event: string, error: unknown, ack: unknown): void {
    if (!isWireError(error)) {
      this.options.logger.log('error', 'request:failed', { event, hostId, error: error instanceof Error ? error.stack : String(error) });
    }
    const reply = ackFromError(error);
    this.guard('request:refused', () => {
      const { controller } = this.roomOf(socket);
      controller.countRejected(hostId);
      this.noteRejected(controller, hostId, event, reply.code, reply.message);
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
  private noteRejected(controller: OverlayController, hostId: string | undefined, event: string, code: string, message: string): void {
    const key = hostId ?? '(not joined)';
    const now = Date.now();
    if (now - (this.lastRejectedEvent.get(key) ?? 0) < 1000) return;
    this.lastRejectedEvent.set(key, now);
    if (this.lastRejectedEvent.size > 10_000) this.lastRejectedEvent.clear();
    controller.logEvent('rejected', `${key}: ${event} refused (${code}): ${message}`, hostId, { event, code });
  }

  private onObserver(socket: Socket<ObserverClientEvents, ObserverServerEvents>): void {
    const controls = this.controlsFor(socket.handshake.auth as Record<string, unknown> | undefined);
    const bucket = new TokenBucket(this.options.rateLimit);
    const room = this.roomOf(socket as unknown as AnySocket);
    void socket.join(room.observersChannel);
    socket.emit('observer:snapshot', { ...room.currentSnapshot(), controls });
    for (const event of room.controller.store.events) socket.emit('observer:event', event);
    const c = room.controller;
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
          this.refuse(socket as unknown as AnySocket, undefined, event, error, ack);
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
}
