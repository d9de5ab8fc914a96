import type { IceConfiguration, SignalData } from '@cubecast/protocol';
import type { LinkRoute } from './link-route.js';

/** What the client drives of a WebRTC connection to a linked host: simple-peer's surface. */
export interface LinkConnection {
  readonly connected: boolean;
  on(event: 'signal', listener: (data: SignalData) => void): unknown;
  on(event: 'error' | 'close', listener: () => void): unknown;
  signal(data: SignalData): void;
  destroy(): void;
}

/**
 * A connection made with the ICE servers the server handed out, and the negotiated data
 * channel made on it, which goes to the engine worker.
 */
export type CreateConnection = (initiator: boolean, ice: IceConfiguration) => { connection: LinkConnection; channel: RTCDataChannel; route(): Promise<LinkRoute | null> };

/** How often connected links' routes are read (getStats): a route changes on an ICE restart or a network change. */
const ROUTE_POLL_MS = 2000;

export interface LinkManagerOptions {
  readonly createConnection: CreateConnection;
  /** The ICE servers to make a connection with now (TURN credentials are refreshed). */
  ice(): IceConfiguration;
  /** A link's data channel, made with its connection: the engine takes it from here. */
  added(hostId: string, channel: RTCDataChannel): void;
  /** A link is gone: the engine drops its channel. */
  removed(hostId: string): void;
  /** Sends one of a link's signals to its host, through the server. */
  signal(hostId: string, data: SignalData): void;
  /** The hosts the current view links this host to. */
  wanted(): ReadonlySet<string>;
  /** Something changed that the snapshot shows. */
  changed(): void;
  /** A link not connected by then is started over (its signals may have been lost). */
  readonly connectTimeoutMs: number;
  /** How long the offering side waits before it tries a lost link again. */
  readonly relinkBackoffMs: number;
}

interface ManagedLink {
  readonly connection: LinkConnection;
  route(): Promise<LinkRoute | null>;
  /** This side made the offer (its host id sorts first). */
  readonly initiator: boolean;
}

/**
 * One WebRTC connection per linked host: which side offers, negotiation through the server,
 * replacement when the other side starts over, and teardown, all in one place. Its timers
 * (connect timeouts, relink backoffs) are its own and end with `close()`.
 */
export class LinkManager {
  private readonly links = new Map<string, ManagedLink>();
  private readonly routes = new Map<string, LinkRoute>();
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private readonly routePoll: ReturnType<typeof setInterval>;

  constructor(private readonly options: LinkManagerOptions) {
    this.routePoll = setInterval(() => this.readRoutes(), ROUTE_POLL_MS);
  }

  /** The selected candidate pair of a connected link, as last read; null before. */
  routeOf(hostId: string): LinkRoute | null {
    return this.routes.get(hostId) ?? null;
  }

  has(hostId: string): boolean {
    return this.links.has(hostId);
  }

  /**
   * Closes links to hosts no longer wanted, and opens those this host offers: of two linked
   * hosts, the one whose id sorts first makes the offer; the other waits for it.
   */
  sync(ownHostId: string): void {
    const wanted = this.options.wanted();
    for (const hostId of [...this.links.keys()]) if (!wanted.has(hostId)) this.remove(hostId);
    for (const hostId of wanted) if (!this.links.has(hostId) && ownHostId < hostId) this.open(hostId, true);
  }

  /**
   * A new epoch: signals carry their epoch and the server refuses stale ones, so a link still
   * negotiating has lost its remaining offer, answer or candidates. Connected links stay.
   */
  dropNegotiating(): void {
    for (const [hostId, link] of [...this.links]) if (!link.connection.connected) this.remove(hostId);
  }

  /** A signal from a linked host: an offer opens a link (replacing one it started over); the rest go to the link. */
  onSignal(from: string, data: SignalData): void {
    const isOffer = 'type' in data && data.type === 'offer';
    let link = this.links.get(from);
    // Cubecast never renegotiates a connection in place: a fresh offer means the other side started over.
    if (link && !link.initiator && isOffer) {
      this.remove(from);
      link = undefined;
    }
    if (!link) {
      if (!isOffer) return;
      link = this.open(from, false);
    }
    link.connection.signal(data);
  }

  /** Tears every link down (the server connection is gone); the manager stays usable. */
  removeAll(): void {
    for (const hostId of [...this.links.keys()]) this.remove(hostId);
  }

  /** Tears everything down and cancels its timers. */
  close(): void {
    clearInterval(this.routePoll);
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.removeAll();
  }

  private open(hostId: string, initiator: boolean): ManagedLink {
    const { connection, channel, route } = this.options.createConnection(initiator, this.options.ice());
    this.options.added(hostId, channel);
    const link: ManagedLink = { connection, route, initiator };
    this.links.set(hostId, link);
    connection.on('signal', (data: SignalData) => this.options.signal(hostId, data));
    connection.on('error', () => this.lost(hostId, link));
    connection.on('close', () => this.lost(hostId, link));
    // Whatever else loses a signal (a reconnection, a refused relay), the offering side retries.
    if (initiator) {
      this.after(this.options.connectTimeoutMs, () => {
        if (this.links.get(hostId) === link && !connection.connected) this.lost(hostId, link);
      });
    }
    return link;
  }

  /** The connection failed or closed: the offering side tries again while the host is still wanted. */
  private lost(hostId: string, link: ManagedLink): void {
    if (this.links.get(hostId) !== link) return;
    this.remove(hostId);
    if (link.initiator) {
      this.after(this.options.relinkBackoffMs, () => {
        if (this.options.wanted().has(hostId) && !this.links.has(hostId)) this.open(hostId, true);
      });
    }
    this.options.changed();
  }

  /** The one teardown. */
  private remove(hostId: string): void {
    const link = this.links.get(hostId);
    if (!link) return;
    this.links.delete(hostId);
    this.routes.delete(hostId);
    this.options.removed(hostId);
    link.connection.destroy();
  }

  private readRoutes(): void {
    for (const [hostId, link] of this.links) {
      if (!link.connection.connected) continue;
      link.route().then(
        (route) => {
          // Read after the link went or was replaced: not this link's route any more.
          if (this.links.get(hostId) !== link || !route) return;
          const known = this.routes.get(hostId);
          if (known && JSON.stringify(known) === JSON.stringify(route)) return;
          this.routes.set(hostId, route);
          this.options.changed();
        },
        // A connection closing under getStats(): its teardown is already on its way.
        () => undefined,
      );
    }
  }

  private after(ms: number, work: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      work();
    }, ms);
    this.timers.add(timer);
  }
}
