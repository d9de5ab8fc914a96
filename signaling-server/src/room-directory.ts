import { NetworkCoordinates } from '@cubecast/overlay';
import { LimitExceededError } from '@cubecast/protocol';
import type { Logger } from './log.js';
import type { HostLeave, OverlayController, Outbox } from './overlay-controller.js';
import type { RoomRequest } from './room-request.js';
import { Room, type HostEvent, type ObserverMessage, type RoomDelivery } from './room.js';
import { createMemoryStore, type Store } from './store.js';

/** What a gateway does with what rooms' owners send its sockets. */
export interface LocalSockets {
  /** The server process's name among the nodes (host records say which node holds a socket). */
  readonly node: string;
  toHost(room: string, connection: string, event: HostEvent, args: readonly unknown[]): void;
  toHosts(room: string, event: HostEvent, args: readonly unknown[]): void;
  dropHost(room: string, connection: string): void;
  toObservers(room: string, message: ObserverMessage): void;
  /** Observers of the room connected here. */
  observerCount(room: string): number;
  /** The rooms with observers connected here. */
  observedRooms(): Iterable<string>;
}

/**
 * Where a gateway sends a room's requests: to the room's owner, in this process or on
 * another node. Rooms are made by the first request that names one.
 */
export interface RoomDirectory {
  /** The owner's answer (what the ack carries), or the refusal it threw. */
  request(room: string, request: RoomRequest): Promise<object | void>;
  /** A host's socket closed: the owner batches it with others. */
  leave(room: string, leave: HostLeave): void;
  /** The rooms this process owns now, by name. */
  owned(): ReadonlyMap<string, Room>;
  /**
   * Hands the rooms this process owns to other nodes (saved, leases given back) before it
   * closes; in one process with nothing shared there is nobody to hand them to.
   */
  drain(): Promise<void>;
  /** Stops; what the rooms hold stays where it is kept (memory is gone, Redis stays). */
  close(): Promise<void>;
}

export interface RoomFactoryOptions {
  readonly logger: Logger;
  readonly snapshotIntervalMs: number;
  readonly guard: (where: string, work: () => void) => void;
  /** A room's controller over a store: an empty one, or one read back from Redis. */
  readonly createController: (outbox: Outbox, store: Store, room: string) => OverlayController;
}

/** How often rooms nobody is in are dropped. */
const IDLE_SWEEP_MS = 1000;

/**
 * Every room in this process (no Redis): the gateway's sockets are the only ones, so the
 * owner's messages go straight to them.
 */
export class LocalRoomDirectory implements RoomDirectory {
  private readonly rooms = new Map<string, Room>();
  private readonly sweepTimer: NodeJS.Timeout;

  constructor(
    private readonly sockets: LocalSockets,
    private readonly options: RoomFactoryOptions & { readonly maxRooms: number; readonly keep: string },
  ) {
    this.room(options.keep);
    this.sweepTimer = setInterval(() => options.guard('room:sweep', () => this.dropIdleRooms()), IDLE_SWEEP_MS);
    this.sweepTimer.unref();
  }

  request(room: string, request: RoomRequest): Promise<object | void> {
    try {
      const owner = this.room(room);
      const result = owner.handle(request);
      // The gateway acks when this promise settles, in this turn's microtasks: after that.
      setImmediate(() => this.options.guard('request:answered', () => owner.answered(request, result)));
      return Promise.resolve(result);
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  leave(room: string, leave: HostLeave): void {
    this.rooms.get(room)?.queueLeave(leave);
  }

  owned(): ReadonlyMap<string, Room> {
    return this.rooms;
  }

  drain(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    clearInterval(this.sweepTimer);
    for (const room of this.rooms.values()) room.close();
    return Promise.resolve();
  }

  private room(name: string): Room {
    const existing = this.rooms.get(name);
    if (existing) return existing;
    if (this.rooms.size >= this.options.maxRooms) throw new LimitExceededError(`the server holds ${this.options.maxRooms} rooms, the most it takes`);
    const room = createRoom(name, createMemoryStore(new NetworkCoordinates()), localDelivery(this.sockets, name), this.options);
    this.rooms.set(name, room);
    return room;
  }

  private dropIdleRooms(): void {
    for (const [name, room] of this.rooms) {
      if (name === this.options.keep || !room.idle) continue;
      room.close();
      this.rooms.delete(name);
    }
  }
}

export function createRoom(name: string, store: Store, delivery: RoomDelivery, options: RoomFactoryOptions & { changed?: () => void }): Room {
  return new Room(name, (outbox) => options.createController(outbox, store, name), delivery, {
    logger: options.logger,
    snapshotIntervalMs: options.snapshotIntervalMs,
    guard: options.guard,
    ...(options.changed && { changed: options.changed }),
  });
}

/** A room's delivery when every socket is this process's. */
export function localDelivery(sockets: LocalSockets, room: string): RoomDelivery {
  return {
    toHost: (to, event, args) => sockets.toHost(room, to.connection, event, args),
    toHosts: (_nodes, event, args) => sockets.toHosts(room, event, args),
    dropHost: (to) => sockets.dropHost(room, to.connection),
    toObservers: (message) => sockets.toObservers(room, message),
  };
}
