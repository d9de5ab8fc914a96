import { LIMITS, type IceConfiguration, type SignalData } from '@cubecast/protocol';
import type { LinkStats } from './engine/types.js';
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
 * channels made on it (protocol's LINK_CHANNELS, in that order), which go to the engine worker.
 */
export type CreateConnection = (
  initiator: boolean,
  ice: IceConfiguration,
) => {
  connection: LinkConnection;
  channels: RTCDataChannel[];
  /** Its selected candidate pair (getStats). */
  route(): Promise<LinkRoute | null>;
  /** Gathers new candidates and renegotiates, keeping the connection and its channels. */
  restartIce(): void;
  /** ICE restarts this connection went through (its ICE credentials changed). */
  iceRestarts(): number;
  /** Why it has not connected (linkFailure). */
  failure(): Promise<string>;
};

/** How often connected links' routes are read (getStats): a route changes on an ICE restart or a network change. */
const ROUTE_POLL_MS = 2000;

/**
 * A link that loses this share of its messages (either way, as its engine measures) while it
 * carries a stream gets more stripes, one peer connection each (LinkStripes). Measured with
 * the loss benchmark (docs/benchmarks.md, Stripes): four stripes met the 10% targets over 1, 2
 * and 4 hops where one association missed them, in two runs; at 2% and 5% their p99 was
 * 1.03-1.46x of lossless where one association's was 1.31-2.04x in one run, and 0.75-1.81x
 * against 0.92-2.65x in the other. The engine's estimates read high on purpose
 * (two standard deviations), so 1% true loss mostly stays below this and 2% reaches it. What
 * a wider link costs is connections (ports, a TURN allocation each where relayed), not bytes.
 */
export const WIDEN_AT_LOSS = 0.02;
/** A link carrying less than this either way has no stream for stripes to protect (its loss is a few pings'). */
export const WIDEN_MIN_KBPS = 100;

export interface LinkManagerOptions {
  readonly createConnection: CreateConnection;
  /** The ICE servers to make a connection with now (TURN credentials are refreshed). */
  ice(): IceConfiguration;
  /** A link's data channels, made with its connection: the engine takes them from here. */
  added(hostId: string, channels: RTCDataChannel[]): void;
  /** Another stripe's data channels for a link already added (a lossy link widened). */
  stripeAdded(hostId: string, channels: RTCDataChannel[]): void;
  /** A link is gone: the engine drops its channels. */
  removed(hostId: string): void;
  /** Sends a signal of one of a link's stripes (0: its own connection) to its host, through the server. */
  signal(hostId: string, data: SignalData, stripe: number): void;
  /** The hosts the current view links this host to. */
  wanted(): ReadonlySet<string>;
  /** Something changed that the snapshot shows. */
  changed(): void;
  /** A link not connected by then is started over (its signals may have been lost). */
  readonly connectTimeoutMs: number;
  /** How long the offering side waits before it tries a lost link again. */
  readonly relinkBackoffMs: number;
}

/**
 * The DTLS certificate fingerprint an SDP states (`a=fingerprint:`), which stays with its
 * RTCPeerConnection: an offer with the fingerprint already known for a link renegotiates that
 * connection (an ICE restart); one with another comes from a new connection.
 */
export function dtlsFingerprint(sdp: string): string | null {
  return /^a=fingerprint:(.+?)\s*$/m.exec(sdp)?.[1]?.toLowerCase() ?? null;
}

/** The ICE username fragment an SDP states: a new one means ICE restarted. */
export function iceUfrag(sdp: string): string | null {
  return /^a=ice-ufrag:(\S+)/m.exec(sdp)?.[1] ?? null;
}

/** A connection as made (its channels went to the engine). */
interface ManagedConnection extends Omit<ReturnType<CreateConnection>, 'channels'> {
  /** The other side's DTLS fingerprint, from the first offer or answer it sent. */
  remoteFingerprint?: string | null;
}

/** A link: its own connection, who offered, and the stripes it was widened with. */
interface ManagedLink extends ManagedConnection {
  /** This side made the offer (its host id sorts first); it makes its stripes' offers too. */
  readonly initiator: boolean;
  /** Its added stripes' connections, by stripe number (1 up to LIMITS.maxStripesPerLink - 1). */
  readonly stripes: Map<number, ManagedConnection>;
  /** When the offering side last opened stripes: a stripe that failed is tried again no sooner than a relink backoff after. */
  widenedAt?: number;
}

const isOffer = (data: SignalData): data is SignalData & { type: 'offer'; sdp: string } => 'type' in data && data.type === 'offer';

/** An offer for a connection the other side offered before, with another DTLS fingerprint: a new connection, the old one's replacement. */
function replacedBy(known: ManagedConnection, data: SignalData): boolean {
  if (!isOffer(data)) return false;
  const fingerprint = dtlsFingerprint(data.sdp);
  return fingerprint === null || fingerprint !== known.remoteFingerprint;
}

function noteFingerprint(known: ManagedConnection, data: SignalData): void {
  if ('sdp' in data && data.sdp !== undefined) known.remoteFingerprint ??= dtlsFingerprint(data.sdp);
}

/**
 * One WebRTC connection per linked host, and more for a lossy one (stripes): which side
 * offers, negotiation through the server, replacement when the other side starts over, and
 * teardown, all in one place. Its timers (connect timeouts, relink backoffs) are its own and
 * end with `close()`.
 */
export class LinkManager {
  private readonly links = new Map<string, ManagedLink>();
  private readonly routes = new Map<string, LinkRoute>();
  /** Why a wanted link has not connected, until it does. */
  private readonly problems = new Map<string, string>();
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private readonly routePoll: ReturnType<typeof setInterval>;

  constructor(private readonly options: LinkManagerOptions) {
    this.routePoll = setInterval(() => this.readRoutes(), ROUTE_POLL_MS);
  }

  /** Why the link to this host has not connected (its last attempt), or null. */
  problemOf(hostId: string): string | null {
    return this.problems.get(hostId) ?? null;
  }

  /** The link's peer connections that are connected: its own and its stripes'; 0 with none. */
  stripesOf(hostId: string): number {
    const link = this.links.get(hostId);
    if (!link?.connection.connected) return 0;
    let connected = 1;
    for (const stripe of link.stripes.values()) if (stripe.connection.connected) connected++;
    return connected;
  }

  /**
   * The engine's latest measures of a link: the offering side widens a connected link that
   * loses WIDEN_AT_LOSS or more of its messages, either way, while it carries a stream, to
   * LIMITS.maxStripesPerLink stripes. A widened link stays wide for its life: its loss is
   * measured over every stripe, and narrowing on the wider link's better figure would
   * oscillate. Stripes that fail are made again, a relink backoff after the last try.
   */
  measured(measures: LinkStats, now: number): void {
    const hostId = measures.hostId;
    const link = this.links.get(hostId);
    if (!link?.initiator || !link.connection.connected || link.stripes.size === LIMITS.maxStripesPerLink - 1) return;
    if (link.widenedAt === undefined) {
      const lossy = Math.max(measures.lossRate, measures.inboundLossRate) >= WIDEN_AT_LOSS && Math.max(measures.throughputKbps, measures.receivedKbps) >= WIDEN_MIN_KBPS;
      if (!lossy) return;
    } else if (now - link.widenedAt < this.options.relinkBackoffMs) {
      return;
    }
    link.widenedAt = now;
    for (let stripe = 1; stripe < LIMITS.maxStripesPerLink; stripe++) if (!link.stripes.has(stripe)) this.openStripe(hostId, link, stripe, true);
    this.options.changed();
  }

  /** How many times the link's connection restarted ICE. */
  iceRestartsOf(hostId: string): number {
    return this.links.get(hostId)?.iceRestarts() ?? 0;
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
    for (const hostId of [...this.problems.keys()]) if (!wanted.has(hostId)) this.problems.delete(hostId);
    for (const hostId of wanted) if (!this.links.has(hostId) && ownHostId < hostId) this.open(hostId, true);
  }

  /**
   * A new epoch: signals carry their epoch and the server refuses stale ones, so a link still
   * negotiating has lost its remaining offer, answer or candidates. Connected links stay.
   */
  dropNegotiating(): void {
    for (const [hostId, link] of [...this.links]) {
      if (!link.connection.connected) this.remove(hostId);
      else for (const [stripe, made] of [...link.stripes]) if (!made.connection.connected) this.removeStripe(link, stripe, made);
    }
  }

  /**
   * A signal from a linked host, for the link's own connection (stripe 0) or one of its
   * stripes: an offer opens the connection (replacing one the other side started over); the
   * rest go to it. An offer on a connection the other side offered before is the same one
   * restarting ICE, or, with another DTLS fingerprint, a new one.
   */
  onSignal(from: string, data: SignalData, stripe = 0): void {
    let link = this.links.get(from);
    if (stripe > 0) return this.onStripeSignal(from, link, stripe, data);
    if (link && !link.initiator && replacedBy(link, data)) {
      this.remove(from);
      link = undefined;
    }
    if (!link) {
      if (!isOffer(data)) return;
      link = this.open(from, false);
    }
    noteFingerprint(link, data);
    link.connection.signal(data);
  }

  /** A stripe's signal: only for a link both sides have; the link's offering side offers its stripes too. */
  private onStripeSignal(from: string, link: ManagedLink | undefined, stripe: number, data: SignalData): void {
    if (!link) return;
    let made = link.stripes.get(stripe);
    if (made && !link.initiator && replacedBy(made, data)) {
      this.removeStripe(link, stripe, made);
      made = undefined;
    }
    if (!made) {
      if (link.initiator || !isOffer(data)) return;
      made = this.openStripe(from, link, stripe, false);
    }
    noteFingerprint(made, data);
    made.connection.signal(data);
  }

  /** Tears every link down (the server connection is gone); the manager stays usable. */
  removeAll(): void {
    for (const hostId of [...this.links.keys()]) this.remove(hostId);
  }

  /**
   * The engine found the link silent (no pong, no data) and routes around it: whatever ICE
   * says (it may still call a dead path connected), the path this connection uses may be gone
   * (a NAT dropped its mapping, the network changed). Restarting ICE finds the path that works
   * now, and the channels, which the engine keeps, carry on over it.
   */
  stalled(hostId: string): void {
    const link = this.links.get(hostId);
    if (!link) return;
    link.restartIce();
    // Its stripes most likely took the same path.
    for (const stripe of link.stripes.values()) stripe.restartIce();
  }

  /**
   * The engine gave the link up (silent even after `stalled`) and closed its channels: the
   * connection is no use any more. It goes, and the offering side makes a new one.
   */
  failed(hostId: string): void {
    const link = this.links.get(hostId);
    if (link) this.lost(hostId, link);
  }

  /** Tears everything down and cancels its timers. */
  close(): void {
    clearInterval(this.routePoll);
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.removeAll();
  }

  private open(hostId: string, initiator: boolean): ManagedLink {
    const { channels, ...made } = this.options.createConnection(initiator, this.options.ice());
    this.options.added(hostId, channels);
    const link: ManagedLink = { ...made, initiator, stripes: new Map() };
    const { connection } = link;
    this.links.set(hostId, link);
    connection.on('signal', (data: SignalData) => this.options.signal(hostId, data, 0));
    connection.on('error', () => this.lost(hostId, link));
    connection.on('close', () => this.lost(hostId, link));
    // Not connected in time: both sides find out why (before the connection goes: its stats
    // go with it), and the offering side starts over, as whatever lost a signal (a
    // reconnection, a refused relay) may be gone by then.
    this.after(this.options.connectTimeoutMs, () => {
      if (this.links.get(hostId) !== link || connection.connected) return;
      void link
        .failure()
        .then(
          (reason) => {
            if (!this.options.wanted().has(hostId) || connection.connected) return;
            this.problems.set(hostId, reason);
            this.options.changed();
          },
          () => undefined,
        )
        .finally(() => {
          if (initiator && this.links.get(hostId) === link && !connection.connected) this.lost(hostId, link);
        });
    });
    return link;
  }

  /**
   * One more connection for a link, as stripe `stripe`: its channels go to the engine's link
   * (which drops them when they close). One that fails, closes or does not connect in time
   * just goes: the link carries on over the others.
   */
  private openStripe(hostId: string, link: ManagedLink, stripe: number, initiator: boolean): ManagedConnection {
    const { channels, ...connection } = this.options.createConnection(initiator, this.options.ice());
    this.options.stripeAdded(hostId, channels);
    link.stripes.set(stripe, connection);
    const gone = () => {
      if (this.removeStripe(link, stripe, connection)) this.options.changed();
    };
    connection.connection.on('signal', (data: SignalData) => this.options.signal(hostId, data, stripe));
    connection.connection.on('error', gone);
    connection.connection.on('close', gone);
    this.after(this.options.connectTimeoutMs, () => {
      if (!connection.connection.connected) gone();
    });
    return connection;
  }

  /** Tears a stripe's connection down, if it is still the link's; returns whether it was. */
  private removeStripe(link: ManagedLink, stripe: number, made: ManagedConnection): boolean {
    if (link.stripes.get(stripe) !== made) return false;
    link.stripes.delete(stripe);
    made.connection.destroy();
    return true;
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
    for (const stripe of link.stripes.values()) stripe.connection.destroy();
    link.stripes.clear();
  }

  private readRoutes(): void {
    for (const [hostId, link] of this.links) {
      if (!link.connection.connected) continue;
      if (this.problems.delete(hostId)) this.options.changed();
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
