import { timingSafeEqual } from 'node:crypto';
import {
  ackFromError,
  CLIENT_EVENT_SCHEMAS,
  ControlsDisabledError,
  DEFAULT_ROOM,
  ForbiddenError,
  NotJoinedError,
  AlreadyJoinedError,
  OBSERVER_EVENT_SCHEMAS,
  parsePayload,
  RateLimitedError,
  roomNameSchema,
  isWireError,
  BadPayloadError,
  type ClientPayload,
  type ClientToServerEvents,
  type IceConfiguration,
  type ServerToClientEvents,
  type ObserverClientEvents,
  type ObserverEvent,
  type ObserverServerEvents,
  type ObserverSnapshot,
} from '@cubecast/protocol';
import type { Namespace, Server, Socket } from 'socket.io';
import { iceConfigurationFor, TURN_REFRESH_AT, type IceSettings } from './ice-config.js';
import type { Logger } from './log.js';
import type { LeaveReason } from './overlay-controller.js';
import { TokenBucket, type RateLimit } from './rate-limiter.js';
import type { LocalSockets, RoomDirectory } from './room-directory.js';
import type { ControlEventName, HostEventName } from './room-request.js';
import type { HostEvent, ObserverMessage } from './room.js';

export type HostSocket = Socket<ClientToServerEvents, ServerToClientEvents>;
type ObserverNamespace = Namespace<ObserverClientEvents, ObserverServerEvents>;

export interface SignalingOptions {
  /** Observer controls need this token; without one they are off. */
  readonly adminToken: string | undefined;
  /** Watching needs this token (or the admin token); without one, watching is open. */
  readonly observerToken?: string | undefined;
  readonly rateLimit: RateLimit;
  readonly logger: Logger;
  /** Observers connected at once; more are refused at connection. */
  readonly maxObservers: number;
  /**
   * Bytes the server may hold for one socket that it could not send yet (socket.io's write
   * buffer plus the WebSocket's). A client that stops reading is dropped past it instead of
   * growing the server until its ping times out.
   */
  readonly maxBufferedBytesPerSocket: number;
  /** The ICE servers every joined host gets (TURN credentials made for it here). */
  readonly ice: IceSettings;
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

type AnySocket = Socket<never, never>;

/** socket.io's disconnect reasons: a silent or broken transport is a failure, not a leave. */
function leaveReason(reason: string): LeaveReason {
  if (reason === 'ping timeout' || reason === 'transport error') return 'failure';
  return 'disconnect';
}

/**
 * The gateway: it holds the sockets. Every event is rate-limited and validated against its
 * schema here, then handed to the owner of the socket's room (a RoomDirectory finds it: this
 * process, or another node); every refusal is an error ack `{ok:false, code, message}`, is
 * counted, and changes nothing. Unknown events are refused the same way.
 */
export class Signaling implements LocalSockets {
  /** Per host (or '(not joined)'): when its refusals were last told to its room, and how many since. */
  private readonly rejections = new Map<string, { at: number; count: number; timer: NodeJS.Timeout | undefined }>();
  private readonly observers: ObserverNamespace;
  private readonly sweepTimer: NodeJS.Timeout;
  /** Observers connected here, per room: the owner builds the feed only while some watch. */
  private readonly observerCounts = new Map<string, number>();
  /** Sockets this gateway dropped for not reading (for /metrics). */
  slowSocketsDropped = 0;
  directory!: RoomDirectory;
  private closed = false;

  constructor(
    private readonly io: Server,
    readonly node: string,
    private readonly options: SignalingOptions,
  ) {
    this.observers = io.of('/observer');
    io.of('/').on('connection', (socket: HostSocket) => this.guard('host:connection', () => this.onHost(socket)));
    this.observers.use((socket, next) => {
      if (this.observers.sockets.size >= options.maxObservers) {
        next(new Error(`the server has ${options.maxObservers} observers connected, the most it takes: try again later`));
        return;
      }
      const named = (socket.handshake.auth as Record<string, unknown> | undefined)?.room ?? DEFAULT_ROOM;
      const parsed = roomNameSchema.safeParse(named);
      if (!parsed.success) {
        next(new Error('a room name is 1 to 64 letters, digits, spaces, dots, dashes or underscores'));
        return;
      }
      socket.data.room = parsed.data;
      if (!this.mayWatch(socket.handshake.auth as Record<string, unknown> | undefined)) {
        // socket.io hands the client this message (connect_error) and the data: the page asks for the token.
        next(Object.assign(new Error('watching this server needs the observer token'), { data: { code: 'FORBIDDEN' } }));
        return;
      }
      next();
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
    clearInterval(this.sweepTimer);
  }

  // ---- LocalSockets: what rooms' owners send this node's sockets ---------------------------

  toHost(_room: string, connection: string, event: HostEvent, args: readonly unknown[]): void {
    const socket = this.io.of('/').sockets.get(connection);
    if (!socket) return;
    (socket.emit as (event: string, ...args: unknown[]) => boolean)(event, ...args);
    this.dropIfSlow(socket);
  }

  toHosts(room: string, event: HostEvent, args: readonly unknown[]): void {
    (this.io.of('/').to(hostsChannel(room)).emit as (event: string, ...args: unknown[]) => boolean)(event, ...args);
  }

  dropHost(_room: string, connection: string): void {
    this.io.of('/').sockets.get(connection)?.disconnect(true);
  }

  toObservers(room: string, message: ObserverMessage): void {
    if (message.event === 'observer:snapshot') {
      for (const socket of this.observersOf(room)) socket.emit('observer:snapshot', { ...message.payload, controls: socket.data.controls as ObserverSnapshot['controls'] });
      return;
    }
    (this.observers.to(observersChannel(room)).emit as (event: string, payload: unknown) => boolean)(message.event, message.payload);
    if (message.event === 'observer:delta') for (const socket of this.observersOf(room)) this.dropIfSlow(socket);
  }

  private observersOf(room: string): Socket<ObserverClientEvents, ObserverServerEvents>[] {
    return [...this.observers.sockets.values()].filter((socket) => socket.data.room === room);
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
    this.options.logger.log('warn', 'socket:slow', { hostId: socket.data.hostId as string | undefined, unsentBytes: unsent });
    this.slowSocketsDropped++;
    setImmediate(() =>
      this.guard('socket:drop', () => {
        socket.disconnect(true);
        // A graceful close would wait behind the unsent bytes; they are what must go now.
        (socket.conn.transport as unknown as { socket?: { terminate?: () => void } }).socket?.terminate?.();
      }),
    );
  }

  private onHost(socket: HostSocket): void {
    const bucket = new TokenBucket(this.options.rateLimit);
    this.refuseUnknownEvents(socket, CLIENT_EVENT_SCHEMAS, bucket);
    for (const event of Object.keys(CLIENT_EVENT_SCHEMAS) as HostEventName[]) {
      socket.on(event, (...args: unknown[]) => {
        // A client may send an ack with no payload: the callback then comes first.
        const [payload, ack] = typeof args[0] === 'function' ? [undefined, args[0]] : [args[0], args[1]];
        const hostId = socket.data.hostId as string | undefined;
        if (!bucket.take()) {
          this.refuse(socket, hostId, event, new RateLimitedError(`more than ${this.options.rateLimit.perSecond} events a second`), ack);
          return;
        }
        this.handleHostEvent(socket, event, payload).then(
          (result) => {
            if (typeof ack === 'function') ack({ ok: true, ...(result ?? {}) });
          },
          (error: unknown) => this.refuse(socket, socket.data.hostId as string | undefined, event, error, ack),
        );
      });
    }
    socket.on('disconnect', (reason) =>
      this.guard('host:disconnect', () => {
        clearTimeout(socket.data.iceRefresh as NodeJS.Timeout | undefined);
        const hostId = socket.data.hostId as string | undefined;
        if (!hostId || this.closed) return;
        const why = socket.data.droppingSlow === true ? 'failure' : leaveReason(reason);
        this.directory.leave(socket.data.room as string, { hostId, reason: why, connection: socket.id });
      }),
    );
  }

  /** Validates one host event and has the owner of the socket's room carry it out. */
  private async handleHostEvent(socket: HostSocket, event: HostEventName, payload: unknown): Promise<object | void> {
    const data = parsePayload(CLIENT_EVENT_SCHEMAS[event], payload, event);
    const hostId = socket.data.hostId as string | undefined;
    const from = { node: this.node, connection: socket.id };
    if (event !== 'host:join') {
      if (!hostId) throw new NotJoinedError('join first (host:join)');
      const result = await this.directory.request(socket.data.room as string, { kind: 'host', event, data, hostId, from });
      if (event === 'host:leave') {
        socket.data.hostId = undefined;
        void socket.leave(hostsChannel(socket.data.room as string));
      }
      return result;
    }
    if (hostId || socket.data.joining === true) throw new AlreadyJoinedError(hostId ? `this connection is host ${hostId}` : 'a join is under way on this connection');
    const room = (data as ClientPayload<'host:join'>).room ?? DEFAULT_ROOM;
    socket.data.joining = true;
    try {
      const { hostId: joined, ...result } = (await this.directory.request(room, { kind: 'host', event, data, from })) as { hostId: string };
      // The socket closed while the owner was taking it in: the host it became leaves again.
      if (socket.disconnected) {
        if (!this.closed) this.directory.leave(room, { hostId: joined, reason: 'disconnect', connection: socket.id });
        return result;
      }
      socket.data.hostId = joined;
      socket.data.room = room;
      void socket.join(hostsChannel(room));
      return { ...result, ...this.iceConfiguration(socket, room, joined) };
    } finally {
      socket.data.joining = false;
    }
  }

  /**
   * What a joined host makes its connections with. TURN credentials are made for it and
   * expire; while its socket stays, it gets new ones (`ice:updated`) before they do.
   */
  private iceConfiguration(socket: HostSocket, room: string, hostId: string): IceConfiguration {
    const { expiresAtMs, ...configuration } = iceConfigurationFor(this.options.ice, `${room}/${hostId}`, Date.now());
    clearTimeout(socket.data.iceRefresh as NodeJS.Timeout | undefined);
    if (expiresAtMs !== undefined) {
      const refresh = setTimeout(
        () =>
          this.guard('ice:refresh', () => {
            if (socket.disconnected || socket.data.hostId !== hostId) return;
            socket.emit('ice:updated', this.iceConfiguration(socket, room, hostId));
          }),
        (expiresAtMs - Date.now()) * TURN_REFRESH_AT,
      );
      refresh.unref();
      socket.data.iceRefresh = refresh;
    }
    return configuration;
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
      this.noteRejected(socket, hostId, event, reply.code, reply.message);
    });
    if (typeof ack === 'function') {
      try {
        (ack as (r: unknown) => void)(reply);
      } catch {
        // An ack that throws is the client's problem; the refusal stands.
      }
    }
  }

  /**
   * Refusals reach the room's owner (for its observers and the host's counter) as at most one
   * message per host (or anonymous socket) a second, with how many there were: a client
   * flooding bad events costs the owner nothing more. The ones inside a second go with the
   * next message, which a timer sends if no refusal does.
   */
  private noteRejected(socket: AnySocket | HostSocket, hostId: string | undefined, event: string, code: string, message: string): void {
    const key = hostId ?? '(not joined)';
    const room = (socket.data.room as string | undefined) ?? DEFAULT_ROOM;
    // Hosts come and go: forget the quiet ones past a bound.
    if (this.rejections.size > 10_000) for (const [other, entry] of this.rejections) if (!entry.timer) this.rejections.delete(other);
    const seen = this.rejections.get(key) ?? { at: 0, count: 0, timer: undefined };
    this.rejections.set(key, seen);
    seen.count++;
    const report = () => {
      seen.timer = undefined;
      if (seen.count === 0) return;
      const note = { kind: 'rejected' as const, count: seen.count, message: `${key}: ${event} refused (${code}): ${message}`, event, code, ...(hostId !== undefined && { hostId }) };
      seen.at = Date.now();
      seen.count = 0;
      if (!this.closed) this.directory.request(room, note).catch(() => undefined);
    };
    const wait = seen.at + 1000 - Date.now();
    if (wait <= 0) report();
    else if (!seen.timer) {
      seen.timer = setTimeout(() => this.guard('request:refused', report), wait);
      seen.timer.unref();
    }
  }

  private onObserver(socket: Socket<ObserverClientEvents, ObserverServerEvents>): void {
    const controls = this.controlsFor(socket.handshake.auth as Record<string, unknown> | undefined);
    const bucket = new TokenBucket(this.options.rateLimit);
    const room = socket.data.room as string;
    socket.data.controls = controls;
    this.refuseUnknownEvents(socket as unknown as AnySocket, OBSERVER_EVENT_SCHEMAS, bucket);
    this.countObserver(room, +1);
    socket.on('disconnect', () => this.guard('observer:disconnect', () => this.countObserver(room, -1)));
    this.directory.request(room, { kind: 'observer:open' }).then(
      (opened) => {
        if (socket.disconnected) return;
        const { snapshot, events } = opened as { snapshot: ObserverSnapshot; events: ObserverEvent[] };
        socket.emit('observer:snapshot', { ...snapshot, controls });
        for (const event of events) socket.emit('observer:event', event);
        // Joined after the snapshot went: deltas are relative to it.
        void socket.join(observersChannel(room));
      },
      (error: unknown) => {
        this.options.logger.log('warn', 'observer:refused', { room, error: error instanceof Error ? error.message : String(error) });
        socket.disconnect(true);
      },
    );
    for (const event of Object.keys(OBSERVER_EVENT_SCHEMAS) as ControlEventName[]) {
      socket.on(event, (...args: unknown[]) => {
        const [payload, ack] = typeof args[0] === 'function' ? [undefined, args[0]] : [args[0], args[1]];
        const reply = (result: object | void) => {
          this.options.logger.log('info', 'control:done', { event, room });
          if (typeof ack === 'function') ack({ ok: true, ...(result ?? {}) });
        };
        const refuse = (error: unknown) => this.refuse(socket as unknown as AnySocket, undefined, event, error, ack);
        try {
          if (!bucket.take()) throw new RateLimitedError('too many control requests');
          if (!controls.enabled) {
            throw this.options.adminToken === undefined
              ? new ControlsDisabledError('observer controls are off: the server has no CUBECAST_ADMIN_TOKEN')
              : new ForbiddenError('observer controls need the admin token');
          }
          const data = parsePayload(OBSERVER_EVENT_SCHEMAS[event], payload, event);
          this.directory.request(room, { kind: 'control', event, data }).then(reply, refuse);
        } catch (error) {
          refuse(error);
        }
      });
    }
  }

  /** Tells the room's owner how many observers watch from here when that crosses zero or changes. */
  private countObserver(room: string, change: number): void {
    const count = (this.observerCounts.get(room) ?? 0) + change;
    if (count > 0) this.observerCounts.set(room, count);
    else this.observerCounts.delete(room);
    if (this.closed) return;
    this.directory.request(room, { kind: 'observer:count', node: this.node, count }).catch((error: unknown) => {
      this.options.logger.log('warn', 'observer:count-failed', { room, error: error instanceof Error ? error.message : String(error) });
    });
  }

  observerCount(room: string): number {
    return this.observerCounts.get(room) ?? 0;
  }

  observedRooms(): Iterable<string> {
    return this.observerCounts.keys();
  }

  private controlsFor(auth: Record<string, unknown> | undefined): ObserverSnapshot['controls'] {
    if (this.options.adminToken === undefined) return { enabled: false, reason: 'the server has no CUBECAST_ADMIN_TOKEN, so controls are off' };
    return tokenMatches(auth, this.options.adminToken) ? { enabled: true } : { enabled: false, reason: 'connected without the admin token: view only' };
  }

  /** Watching is open unless the server has an observer token; the admin token also lets one watch. */
  private mayWatch(auth: Record<string, unknown> | undefined): boolean {
    const { observerToken, adminToken } = this.options;
    return observerToken === undefined || tokenMatches(auth, observerToken) || (adminToken !== undefined && tokenMatches(auth, adminToken));
  }
}

/** Whether the handshake's `auth.token` is this token (compared in constant time). */
function tokenMatches(auth: Record<string, unknown> | undefined, expected: string): boolean {
  const given = typeof auth?.token === 'string' ? Buffer.from(auth.token) : Buffer.alloc(0);
  const wanted = Buffer.from(expected);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}

/** The socket.io room of a room's hosts (default namespace). */
export const hostsChannel = (room: string) => `hosts:${room}`;
/** The socket.io room of a room's observers (the observer namespace). */
export const observersChannel = (room: string) => `observers:${room}`;
