import { NetworkCoordinates } from '@cubecast/overlay';
import { ackFromError, errorFromAck, isErrorCode, LimitExceededError, UnavailableError } from '@cubecast/protocol';
import { Redis } from 'ioredis';
import type { HostLeave } from '../overlay-controller.js';
import { createRoom, type LocalSockets, type RoomDirectory, type RoomFactoryOptions } from '../room-directory.js';
import type { RoomRequest } from '../room-request.js';
import { decodeRoomState, encodeRoomCore, takeHostChanges } from '../room-state.js';
import type { HostEvent, Room, RoomDelivery } from '../room.js';
import { createMemoryStore } from '../store.js';
import { decodeBusEnvelope, encodeBusEnvelopes, type BusMessage } from './bus-codec.js';
import { LeaseKeeper } from './lease-keeper.js';
import { RedisRooms, type Lease, type RedisRoomsOptions } from './redis-rooms.js';

export interface ClusterOptions extends RoomFactoryOptions {
  readonly rooms: RedisRoomsOptions;
  /** Rooms this node owns at once; past it, it leaves new rooms to other nodes. */
  readonly maxRooms: number;
  /** How long a gateway waits for a room's owner to answer before it gives up (UNAVAILABLE). */
  readonly requestTimeoutMs: number;
}

/** A room this node owns: its lease and what is waiting to be saved. */
interface Owned {
  readonly room: Room;
  readonly lease: Lease;
  dirty: boolean;
  saveTimer: NodeJS.Timeout | undefined;
  saving: Promise<void> | undefined;
  /** How long the last encode took: saves are spaced by a multiple of it. */
  encodeMs: number;
  /** Answers held until the next save, told how it went: a request is acknowledged once what it did is in Redis. */
  waiters: ((outcome: void | typeof MOVED) => void)[];
}

interface Pending {
  readonly resolve: (result: object | void) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
  readonly room: string;
}

/** A join this gateway stopped waiting for (its socket was told UNAVAILABLE), since `at`. */
interface AbandonedJoin {
  readonly room: string;
  readonly connection: string;
  readonly at: number;
}

/**
 * Least time between two saves of a room, and how many encode times a save waits at least:
 * answers wait for the save (group commit), so the wait is short; a big room, whose encode
 * takes long, is saved less often, so encoding stays under a fifth of the owner's time.
 */
const MIN_SAVE_INTERVAL_MS = 10;
const SAVE_INTERVAL_PER_ENCODE = 4;
/** How often owned rooms' nodes are checked for life, and unowned saved rooms looked for. */
const SWEEP_MS = 1000;
/** How long an answer to an abandoned request is still looked out for. */
const ABANDONED_MS = 60_000;
/** How often a request re-tries to find an owner while the old one's lease runs out. */
const LOCATE_RETRY_MS = 200;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms).unref());

/**
 * Rooms across several server nodes, LiveKit's way: each room has one owner node, named by a
 * lease in Redis with a fencing token; the owner holds the room's controller and saves its state
 * to Redis (write-behind, fenced); every node is a gateway whose sockets' requests go to the
 * owner, over Redis pub/sub when it is another node. A node that finds a room without an owner
 * (new, or its owner died and the lease ran out) takes the lease and goes on from the saved
 * state; hosts that were on a node that went away keep their ids for the claim window.
 *
 * Pub/sub rather than socket.io's Redis adapter: the adapter broadcasts every packet to every
 * node, while here most messages are for one socket on one node, and requests need answers.
 */
export class ClusterRoomDirectory implements RoomDirectory {
  readonly redisRooms: RedisRooms;
  private readonly ownedRooms = new Map<string, Owned>();
  /** Rooms' owners on other nodes, as last found. */
  private readonly owners = new Map<string, string>();
  /** Finding a room's owner, once per room at a time. */
  private readonly locating = new Map<string, Promise<string>>();
  /** The highest fencing token seen per room: messages from an older owner are dropped. */
  private readonly fences = new Map<string, number>();
  private readonly pending = new Map<number, Pending>();
  private readonly abandoned = new Map<number, AbandonedJoin>();
  /** Messages per node, sent together at the end of the event-loop turn. */
  private readonly outgoing = new Map<string, BusMessage[]>();
  private flushScheduled = false;
  /** Bus messages not handled yet, from `inboxHead` on (see drainInbox). */
  private inbox: { from: string; message: BusMessage }[] = [];
  private inboxHead = 0;
  private draining = false;
  private nextRequest = 0;
  private readonly sweepTimer: NodeJS.Timeout;
  /** Renews this node's leases and heartbeat from a thread of its own. */
  private readonly keeper: LeaseKeeper;
  private closed = false;

  private constructor(
    private readonly sockets: LocalSockets,
    private readonly connections: Connections,
    redisUrl: string,
    private readonly options: ClusterOptions,
  ) {
    this.redisRooms = new RedisRooms(connections.commands, options.rooms);
    this.keeper = new LeaseKeeper({
      url: redisUrl,
      rooms: options.rooms,
      node: sockets.node,
      maxLeases: options.maxRooms,
      maxStallMs: MAX_MAIN_THREAD_STALL_MS,
      logger: options.logger,
      onLost: (room, fence) => {
        const owned = this.ownedRooms.get(room);
        if (owned?.lease.fence !== fence) return;
        this.options.logger.log('warn', 'room:lease-lost', { room, fence, while: 'renewing' });
        this.lose(room);
      },
    });
    this.sweepTimer = setInterval(() => this.background('cluster:sweep', () => this.sweep()), SWEEP_MS);
    this.sweepTimer.unref();
  }

  /** Connects to Redis (see Connections). */
  static async start(sockets: LocalSockets, redisUrl: string, options: ClusterOptions): Promise<ClusterRoomDirectory> {
    const connections: Connections = { commands: connect(redisUrl, options), bus: connect(redisUrl, options), subscriber: connect(redisUrl, options) };
    try {
      await Promise.all(Object.values(connections).map((connection) => connection.ping()));
    } catch (error) {
      for (const connection of Object.values(connections)) connection.disconnect();
      throw new RedisUnreachableError(`cannot reach Redis at ${redisUrl}: ${error instanceof Error ? error.message : String(error)}`);
    }
    const directory = new ClusterRoomDirectory(sockets, connections, redisUrl, options);
    connections.subscriber.on('message', (_channel: string, text: string) => directory.receive(text));
    await connections.subscriber.subscribe(directory.channel(sockets.node));
    await directory.redisRooms.heartbeat(sockets.node);
    return directory;
  }

  async request(room: string, request: RoomRequest): Promise<object | void> {
    // An owner that moved answers `moved`: find the new one and ask again, a few times.
    for (let attempt = 0; attempt < 4; attempt++) {
      const owner = await this.locate(room);
      if (owner === this.sockets.node) {
        const owned = this.ownedRooms.get(room);
        if (owned && this.holds(owned)) {
          const outcome = await this.carryOut(owned, request);
          if (outcome === MOVED) continue;
          // The gateway acks when this resolves, in this turn's microtasks: after that.
          setImmediate(() => this.options.guard('request:answered', () => owned.room.answered(request, outcome.result)));
          return outcome.result;
        }
        this.owners.delete(room);
        continue;
      }
      let answer;
      try {
        answer = await this.ask(owner, room, request);
      } catch (error) {
        // No answer: if the owner is dead it did not carry the request out (or died with it);
        // ask the next owner. If it is alive but slow, asking again could do it twice.
        if ((await this.redisRooms.alive([owner])).has(owner)) throw error;
        this.owners.delete(room);
        continue;
      }
      if (answer !== MOVED) return answer;
      this.owners.delete(room);
    }
    throw new UnavailableError(`room "${room}" is changing owner; try again`);
  }

  leave(room: string, leave: HostLeave): void {
    this.locate(room).then(
      (owner) => {
        const owned = this.ownedRooms.get(room);
        if (owner === this.sockets.node && owned) owned.room.queueLeave(leave);
        else this.send(owner, { t: 'leave', room, hostId: leave.hostId, reason: leave.reason, ...(leave.connection !== undefined && { connection: leave.connection }) });
      },
      (error: unknown) => this.options.logger.log('warn', 'host:leave-lost', { room, hostId: leave.hostId, error: String(error) }),
    );
  }

  owned(): ReadonlyMap<string, Room> {
    return new Map([...this.ownedRooms].map(([name, owned]) => [name, owned.room]));
  }

  /**
   * Hands every owned room over: saves it, gives its lease back and says this node is gone,
   * so other nodes take the rooms at once and hosts of this node are waited for (claim window)
   * while their tabs reconnect elsewhere.
   */
  async drain(): Promise<void> {
    await Promise.all([...this.ownedRooms.values()].map(async (owned) => {
      await this.saveNow(owned);
      this.lose(owned.room.name);
      await this.redisRooms.release(owned.lease);
    }));
    await this.redisRooms.leaveCluster(this.sockets.node);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweepTimer);
    for (const name of [...this.ownedRooms.keys()]) this.lose(name);
    for (const pending of this.pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(new UnavailableError('the server is closing'));
    }
    this.pending.clear();
    for (const connection of Object.values(this.connections)) connection.disconnect();
    await this.keeper.close();
  }

  // ---- finding owners ---------------------------------------------------------------------

  /** The node that owns the room: this one (it takes the room when nobody has it) or another. */
  private locate(room: string): Promise<string> {
    const owned = this.ownedRooms.get(room);
    if (owned && this.holds(owned)) return Promise.resolve(this.sockets.node);
    const known = this.owners.get(room);
    if (known !== undefined) return Promise.resolve(known);
    let finding = this.locating.get(room);
    if (!finding) {
      finding = this.find(room).finally(() => this.locating.delete(room));
      this.locating.set(room, finding);
    }
    return finding;
  }

  private async find(room: string): Promise<string> {
    const deadline = performance.now() + this.options.rooms.leaseMs + this.options.requestTimeoutMs;
    while (!this.closed && performance.now() < deadline) {
      const owner = await this.redisRooms.owner(room);
      if (owner === undefined) {
        if (await this.takeOver(room)) return this.sockets.node;
        continue;
      }
      if (owner.node !== this.sockets.node && (await this.redisRooms.alive([owner.node])).has(owner.node)) {
        this.owners.set(room, owner.node);
        this.sendObserverCount(room, owner.node);
        return owner.node;
      }
      // Its owner is gone (or is this node from before a restart): wait for the lease to run out.
      await sleep(LOCATE_RETRY_MS);
    }
    throw new UnavailableError(`no server node could take room "${room}"`);
  }

  /** Takes the room's lease if free and goes on from its saved state; false if another node was first. */
  private async takeOver(room: string): Promise<boolean> {
    if (this.ownedRooms.size >= this.options.maxRooms) throw new LimitExceededError(`this server node owns ${this.options.maxRooms} rooms, the most it takes`);
    const lease = await this.redisRooms.acquire(room, this.sockets.node);
    if (!lease) return false;
    // Renewed from now on: loading a big room takes seconds.
    this.keeper.hold(lease);
    let store;
    try {
      const saved = await this.redisRooms.load(room);
      store = saved === undefined ? createMemoryStore(new NetworkCoordinates(), { saved: true }) : decodeRoomState(saved.core, saved.hosts, new NetworkCoordinates());
    } catch (error) {
      this.keeper.drop(lease);
      await this.redisRooms.release(lease).catch(() => undefined);
      throw error;
    }
    // The room tells of its changes from its first one on: `owned` is set before any can come.
    let owned: Owned | undefined;
    const instance = createRoom(room, store, this.delivery(room, lease), { ...this.options, changed: () => owned && this.markDirty(owned) });
    owned = { room: instance, lease, dirty: false, saveTimer: undefined, saving: undefined, encodeMs: 0, waiters: [] };
    this.ownedRooms.set(room, owned);
    this.owners.delete(room);
    this.fences.set(room, lease.fence);
    const controller = instance.controller;
    await this.noteGoneNodes(instance);
    const observers = this.sockets.observerCount(room);
    if (observers > 0) instance.setObservers(this.sockets.node, observers);
    controller.resync();
    instance.resendSnapshot();
    this.options.logger.log('info', 'room:owned', { room, fence: lease.fence, hosts: controller.store.hosts.size, restored: store.hosts.size > 0 || store.suspended.size > 0 });
    this.markDirty(owned);
    return true;
  }

  /** Starts the claim window for the room's hosts whose node has no heartbeat. */
  private async noteGoneNodes(room: Room): Promise<void> {
    const nodes = [...room.controller.hostNodes()];
    const alive = await this.redisRooms.alive(nodes);
    room.controller.nodesGone(new Set(nodes.filter((node) => !alive.has(node))));
  }

  /** Whether this node may still act for the room: its lease has not run out by its own clock. */
  private holds(owned: Owned): boolean {
    if (this.keeper.holds(owned.lease)) return true;
    this.options.logger.log('warn', 'room:lease-lost', { room: owned.room.name, fence: owned.lease.fence });
    this.lose(owned.room.name);
    return false;
  }

  /** Stops owning a room (lease lost, drained, emptied): sockets stay, requests go to the next owner. */
  private lose(room: string): void {
    const owned = this.ownedRooms.get(room);
    if (!owned) return;
    clearTimeout(owned.saveTimer);
    this.keeper.drop(owned.lease);
    for (const settle of owned.waiters.splice(0)) settle(MOVED);
    owned.room.close();
    this.ownedRooms.delete(room);
  }

  // ---- the owner's side -------------------------------------------------------------------

  private delivery(room: string, lease: Lease): RoomDelivery {
    const { node } = this.sockets;
    const fence = lease.fence;
    return {
      toHost: (to, event, args) => {
        if (to.node === node) this.sockets.toHost(room, to.connection, event, args);
        else this.send(to.node, { t: 'host', room, fence, connection: to.connection, event, args: [...args] });
      },
      toHosts: (nodes, event, args) => {
        for (const to of nodes) {
          if (to === node) this.sockets.toHosts(room, event, args);
          else this.send(to, { t: 'hosts', room, fence, event, args: [...args] });
        }
      },
      dropHost: (to) => {
        if (to.node === node) this.sockets.dropHost(room, to.connection);
        else this.send(to.node, { t: 'drop', room, fence, connection: to.connection });
      },
      toObservers: (message) => {
        const owned = this.ownedRooms.get(room);
        for (const to of owned?.room.observerNodes() ?? []) {
          if (to === node) this.sockets.toObservers(room, message);
          else this.send(to, { t: 'observers', room, fence, event: message.event, payload: message.payload });
        }
      },
    };
  }

  private markDirty(owned: Owned): void {
    owned.dirty = true;
    if (owned.saveTimer || owned.saving) return;
    owned.saveTimer = setTimeout(() => this.background('room:save', () => this.saveNow(owned)), Math.max(MIN_SAVE_INTERVAL_MS, SAVE_INTERVAL_PER_ENCODE * owned.encodeMs));
    owned.saveTimer.unref();
  }

  /**
   * Carries a request out in a room this node owns and waits until what it did is saved:
   * its result, MOVED if the room was lost before the save, or the refusal it threw.
   */
  private async carryOut(owned: Owned, request: RoomRequest): Promise<{ result: object | void } | typeof MOVED> {
    const result = owned.room.handle(request);
    return (await this.durable(owned)) === MOVED ? MOVED : { result };
  }

  /**
   * Resolves once what the room holds now is saved (at once if nothing is unsaved), or with
   * MOVED if the room was lost before: then the change was never saved, the next owner does
   * not have it, and the request may be carried out there instead. Changes are saved together
   * (group commit), so a burst of requests costs a few writes, not one each.
   */
  private durable(owned: Owned): Promise<void | typeof MOVED> {
    if (!owned.dirty) return Promise.resolve();
    return new Promise((settle) => owned.waiters.push(settle));
  }

  /** Writes the room if anything changed since the last write; a refused write means the lease is gone. */
  private async saveNow(owned: Owned): Promise<void> {
    clearTimeout(owned.saveTimer);
    owned.saveTimer = undefined;
    await owned.saving;
    if (!owned.dirty || !this.ownedRooms.has(owned.room.name)) return;
    owned.dirty = false;
    const waiters = owned.waiters.splice(0);
    const { store } = owned.room.controller;
    const started = performance.now();
    const hosts = takeHostChanges(store);
    const core = encodeRoomCore(store, Date.now());
    owned.encodeMs = performance.now() - started;
    owned.saving = this.redisRooms.save(owned.lease, core, hosts).then(
      (saved) => {
        owned.saving = undefined;
        if (!saved) {
          this.options.logger.log('warn', 'room:lease-lost', { room: owned.room.name, fence: owned.lease.fence, while: 'saving' });
          for (const settle of waiters) settle(MOVED);
          this.lose(owned.room.name);
          return;
        }
        for (const settle of waiters) settle();
        if (owned.dirty) this.markDirty(owned);
      },
      (error: unknown) => {
        owned.saving = undefined;
        owned.dirty = true;
        owned.waiters = [...waiters, ...owned.waiters];
        // Not written: those hosts' records are still to be.
        for (const hostId of [...hosts.set.map(([id]) => id), ...hosts.removed]) store.changedHosts.add(hostId);
        this.options.logger.log('error', 'room:save-failed', { room: owned.room.name, error: String(error) });
        this.markDirty(owned);
      },
    );
    await owned.saving;
  }

  /**
   * Once a second: hosts on nodes that went away start their claim window; empty rooms are
   * forgotten; saved rooms nobody owns (their owner died with no gateway asking for them) are
   * taken over, so their claim windows run and they end as they should; a room observed here
   * whose owner changed is told of this node's observers.
   */
  private async sweep(): Promise<void> {
    for (const [id, { at }] of this.abandoned) if (performance.now() - at > ABANDONED_MS) this.abandoned.delete(id);
    for (const owned of [...this.ownedRooms.values()]) {
      if (!this.holds(owned)) continue;
      await this.noteGoneNodes(owned.room);
      if (owned.room.idle && (await this.redisRooms.remove(owned.lease))) this.lose(owned.room.name);
    }
    for (const room of await this.redisRooms.unowned(await this.redisRooms.rooms())) {
      if (this.ownedRooms.size >= this.options.maxRooms) break;
      await this.takeOver(room);
    }
    // Observers here of a room whose owner changed: the new owner does not know them yet.
    for (const room of this.sockets.observedRooms()) {
      if (this.ownedRooms.has(room)) continue;
      const owner = await this.redisRooms.owner(room);
      if (!owner || owner.node === this.owners.get(room) || owner.node === this.sockets.node) continue;
      this.owners.set(room, owner.node);
      this.sendObserverCount(room, owner.node);
    }
  }

  // ---- the bus ------------------------------------------------------------------------------

  private channel(node: string): string {
    return `${this.options.rooms.prefix}bus:${node}`;
  }

  private ask(owner: string, room: string, request: RoomRequest): Promise<object | void | typeof MOVED> {
    const id = ++this.nextRequest;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        if (request.kind === 'host' && request.event === 'host:join') this.abandoned.set(id, { room, connection: request.from.connection, at: performance.now() });
        this.owners.delete(room);
        reject(new UnavailableError(`room "${room}"'s server node did not answer within ${this.options.requestTimeoutMs} ms`));
      }, this.options.requestTimeoutMs);
      timer.unref();
      this.pending.set(id, { resolve: resolve as Pending['resolve'], reject, timer, room });
      this.send(owner, { t: 'req', id, room, request: request as unknown as { kind: string } });
    });
  }

  private send(node: string, message: BusMessage): void {
    let queue = this.outgoing.get(node);
    if (!queue) this.outgoing.set(node, (queue = []));
    queue.push(message);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      for (const [to, messages] of this.outgoing) {
        const { envelopes, oversized } = encodeBusEnvelopes(this.sockets.node, messages);
        for (const { message, length } of oversized) this.options.logger.log('error', 'bus:message-too-big', { to, t: message.t, length });
        for (const envelope of envelopes) {
          this.connections.bus.publish(this.channel(to), envelope).catch((error: unknown) => {
            this.options.logger.log('error', 'bus:publish-failed', { to, length: envelope.length, error: String(error) });
          });
        }
      }
      this.outgoing.clear();
    });
  }

  private receive(text: string): void {
    let envelope;
    try {
      envelope = decodeBusEnvelope(text);
    } catch (error) {
      this.options.logger.log('error', 'bus:bad-envelope', { error: String(error) });
      return;
    }
    for (const message of envelope.messages) this.inbox.push({ from: envelope.from, message });
    if (!this.draining) this.drainInbox();
  }

  /**
   * Handles the bus's messages in order. An answer (`res`) settles a promise, and the gateway
   * acks its socket only a few microtasks later: what the owner sent that socket after the
   * answer waits until then (a task later), so a joined host gets its ack before its deltas.
   */
  private drainInbox(): void {
    this.draining = true;
    while (this.inboxHead < this.inbox.length) {
      const { from, message } = this.inbox[this.inboxHead++]!;
      this.options.guard(`bus:${message.t}`, () => this.handle(from, message));
      if (message.t === 'res' && this.inboxHead < this.inbox.length) {
        setImmediate(() => this.drainInbox());
        return;
      }
    }
    this.inbox = [];
    this.inboxHead = 0;
    this.draining = false;
  }

  private handle(from: string, message: BusMessage): void {
    switch (message.t) {
      case 'req': {
        const owned = this.ownedRooms.get(message.room);
        if (!owned || !this.holds(owned)) {
          this.send(from, { t: 'res', id: message.id, ok: false, moved: true });
          return;
        }
        const request = message.request as unknown as RoomRequest;
        this.carryOut(owned, request).then(
          (outcome) => {
            if (outcome === MOVED) {
              this.send(from, { t: 'res', id: message.id, ok: false, moved: true });
              return;
            }
            const { result } = outcome;
            this.send(from, { t: 'res', id: message.id, ok: true, ...(result !== undefined && { result }) });
            // Queued behind the answer on the same bus: the gateway gets them in that order.
            this.options.guard('request:answered', () => owned.room.answered(request, result));
          },
          (error: unknown) => {
            const { code, message: text } = ackFromError(error);
            this.send(from, { t: 'res', id: message.id, ok: false, code, message: text });
          },
        );
        return;
      }
      case 'res': {
        const pending = this.pending.get(message.id);
        if (!pending) {
          this.answeredLate(message.id, message.ok ? message.result : undefined);
          return;
        }
        this.pending.delete(message.id);
        clearTimeout(pending.timer);
        if (message.ok) pending.resolve(message.result as object | undefined);
        else if (message.moved) pending.resolve(MOVED as unknown as object);
        else pending.reject(errorFromAck({ ok: false, code: message.code && isErrorCode(message.code) ? message.code : 'INTERNAL', message: message.message ?? '' }));
        return;
      }
      case 'leave': {
        const owned = this.ownedRooms.get(message.room);
        const leave = { hostId: message.hostId, reason: message.reason, ...(message.connection !== undefined && { connection: message.connection }) };
        if (owned && this.holds(owned)) owned.room.queueLeave(leave);
        else this.leave(message.room, leave);
        return;
      }
      default: {
        // From an owner: dropped if an owner with a newer lease has spoken for the room.
        if (message.fence < (this.fences.get(message.room) ?? 0)) return;
        this.fences.set(message.room, message.fence);
        if (message.t === 'host') this.sockets.toHost(message.room, message.connection, message.event as HostEvent, message.args);
        else if (message.t === 'hosts') this.sockets.toHosts(message.room, message.event as HostEvent, message.args);
        else if (message.t === 'drop') this.sockets.dropHost(message.room, message.connection);
        else this.sockets.toObservers(message.room, { event: message.event, payload: message.payload } as Parameters<LocalSockets['toObservers']>[1]);
      }
    }
  }

  /**
   * The owner answered a join after this gateway gave up on it: the host it made was never
   * told of (its tab heard UNAVAILABLE and joins anew, as another host), so it leaves, or it
   * would hold ids nobody serves.
   */
  private answeredLate(id: number, result: unknown): void {
    const abandoned = this.abandoned.get(id);
    if (!abandoned) return;
    this.abandoned.delete(id);
    if (result === undefined) return;
    const { hostId } = result as { hostId: string };
    this.options.logger.log('warn', 'host:joined-late', { room: abandoned.room, hostId });
    this.leave(abandoned.room, { hostId, reason: 'leave', connection: abandoned.connection });
  }

  /** A room's new owner learns how many observers this node has for it. */
  private sendObserverCount(room: string, owner: string): void {
    const count = this.sockets.observerCount(room);
    if (count > 0) this.ask(owner, room, { kind: 'observer:count', node: this.sockets.node, count, resync: true }).catch(() => undefined);
  }

  private background(where: string, work: () => Promise<void>): void {
    if (this.closed) return;
    work().catch((error: unknown) => this.options.logger.log('error', 'server:fault', { where, error: error instanceof Error ? error.stack : String(error) }));
  }
}

const MOVED = Symbol('moved');

/**
 * A node's connections to Redis, one per job (and the lease keeper's own): Redis answers each
 * connection's commands in order, and a re-embedding of 59050 hosts publishes an 18 MB
 * envelope's worth to each other gateway: saves queued behind that would wait for all of it.
 */
interface Connections {
  /** Saves, loads, owner and liveness lookups. */
  readonly commands: Redis;
  /** Publishes to other nodes' channels. */
  readonly bus: Redis;
  /** Subscribed to this node's channel. */
  readonly subscriber: Redis;
}

/**
 * How long this node's main thread may go without a turn of its event loop before its leases
 * are let go: far past what a re-embedding has held it (6 s at least for 59050 hosts on a
 * loaded 2-core machine: no renewal of its 8 s lease, sent every 2 s, got through), short
 * enough that a stuck node's rooms move within a minute.
 */
const MAX_MAIN_THREAD_STALL_MS = 30_000;

/** The server was told to keep rooms in a Redis it cannot reach at start. */
export class RedisUnreachableError extends Error {
  override readonly name = 'RedisUnreachableError';
}

function connect(url: string, options: ClusterOptions): Redis {
  // No auto-pipelining: a command that threw while a pipeline was gathered (a save spreading
  // 118100 arguments) later crashed the process from inside ioredis ("results[i] is not
  // iterable", redis/ioredis#1931), and commands are batched per node and turn already.
  const client = new Redis(url, { maxRetriesPerRequest: 2 });
  client.on('error', (error: Error) => options.logger.log('error', 'redis:error', { error: error.message }));
  return client;
}
