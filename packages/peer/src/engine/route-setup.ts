import { encode, encodeRouteSetup, MessageType, parsePipeline, type MessageHeader, type RouteSetup, type SpaSpec } from '@cubecast/protocol';
import type { Link } from './link.js';
import { secondPath, SPLIT } from './pipeline-host.js';
import type { RouteTable } from './route-table.js';
import type { Topology } from './topology.js';

/** A route a publisher keeps alive (from the server's route:request). */
export interface RouteRequestInfo {
  readonly subscriptionId: string;
  readonly channel: number;
  readonly target: number;
  readonly maxLatencyMs: number;
  readonly pipeline: readonly SpaSpec[];
  readonly policy: RoutingPolicy;
}

type RoutingPolicy = RouteSetup['policy'];
type SetupType = typeof MessageType.RouteSetup | typeof MessageType.RoutePrune;

export interface RouteSetupOptions {
  readonly topology: Topology;
  readonly routeTable: RouteTable;
  readonly now: () => number;
  /** How often a publisher refreshes its routes; branches expire after 3 refreshes. */
  readonly refreshMs: number;
  link(hostId: string): Link | undefined;
  /** Where a channel published here enters the cube (its anchor), if it is published here. */
  anchorOf(channel: number): number | undefined;
  /** The variant number of a pipeline (learned for later), or undefined past the engine's bound. */
  variantOf(pipeline: readonly SpaSpec[]): number | undefined;
  /** A setup reached its subscriber here. */
  established(channel: number, subscriptionId: string, hops: number, latencyUs: number): void;
  /** A setup that could not be read or kept (counted with the malformed). */
  refused(): void;
}

/**
 * Route setup, the paper's hop-by-hop way: a publisher keeps the routes the server asked it
 * for and sends their setups (and prunes) from the channel's anchor; every host walks a setup
 * through the ids it owns under the subscription's policy, records a soft-state branch toward
 * the host owning the next id, and passes the setup on. Refreshing the setups keeps the
 * branches alive, and re-lays them over a new topology.
 */
export class RouteSetups {
  private readonly routes = new Map<string, RouteRequestInfo>();

  constructor(private readonly options: RouteSetupOptions) {}

  /** Routes this host keeps alive as a publisher. */
  get size(): number {
    return this.routes.size;
  }

  /** The server asks this publisher to set up (or move) a route: do it now, then keep it alive. */
  request(route: RouteRequestInfo): void {
    this.routes.set(route.subscriptionId, route);
    this.originate(route, MessageType.RouteSetup);
  }

  cancel(subscriptionId: string): void {
    const route = this.routes.get(subscriptionId);
    if (!route) return;
    this.routes.delete(subscriptionId);
    this.originate(route, MessageType.RoutePrune);
  }

  /** The channel is no longer published here: its routes are not kept. */
  forgetChannel(channel: number): void {
    for (const [id, route] of this.routes) if (route.channel === channel) this.routes.delete(id);
  }

  /** Sends every kept route's setup again; one that throws costs only itself (`failed`). */
  refresh(failed: (error: unknown) => void): void {
    for (const route of this.routes.values()) {
      try {
        this.originate(route, MessageType.RouteSetup);
      } catch (error) {
        failed(error);
      }
    }
  }

  private originate(route: RouteRequestInfo, type: SetupType): void {
    const anchor = this.options.anchorOf(route.channel);
    const epoch = this.options.topology.epoch;
    if (anchor === undefined || epoch === undefined) return;
    const setup: RouteSetup = { policy: route.policy, subscriptionId: route.subscriptionId, epoch, at: anchor, maxLatencyMs: route.maxLatencyMs, pipeline: route.pipeline };
    const header: MessageHeader = { type, flags: 0, hops: 0, channel: route.channel, sequence: 0, source: anchor, destination: route.target, latencyUs: 0, fragmentIndex: 0, fragmentCount: 1 };
    this.step(header, setup, type);
    if (route.pipeline[0]?.spa === SPLIT) {
      // The second path: its own branches (another id) and another policy, so another route.
      const policy = route.policy === 'random' ? 'odr' : 'random';
      this.step(header, { ...setup, subscriptionId: `${route.subscriptionId}/2`, policy, pipeline: secondPath(route.pipeline) }, type);
    }
  }

  /**
   * Walks a route setup (or prune) through this host's own ids, then records the branch to
   * the host owning the next id and passes the message on, with `at` set to that id. The
   * subscriber's host, at the destination, reports the route established.
   */
  step(header: MessageHeader, setup: RouteSetup, type: MessageType): void {
    const { topology, routeTable } = this.options;
    // A setup from another epoch, or one addressed to an id this host no longer owns, is from
    // before a topology change; the publisher's next refresh routes over the new one.
    if (setup.epoch !== topology.epoch) return;
    const router = topology.router(setup.policy);
    let at = setup.at;
    if (!router || !topology.owns(at)) return;
    const pipeline = parsePipeline(setup.pipeline);
    const variant = pipeline ? this.options.variantOf(pipeline) : undefined;
    if (variant === undefined) {
      this.options.refused();
      return;
    }
    const prune = type === MessageType.RoutePrune;
    const expiresAt = this.options.now() + 3 * this.options.refreshMs;
    for (;;) {
      if (at === header.destination) {
        routeTable.setLocal(header.channel, setup.subscriptionId, prune ? undefined : { variant, expiresAt });
        if (type === MessageType.RouteSetup) this.options.established(header.channel, setup.subscriptionId, header.hops, header.latencyUs);
        return;
      }
      const next = router.nextHop(at, header.destination, header.source);
      if (next === null) return;
      if (topology.owns(next)) {
        at = next;
        continue;
      }
      const nextHost = topology.ownerOf(next);
      const link = nextHost ? this.options.link(nextHost) : undefined;
      if (!nextHost || !link || link.state !== 'open') return; // the refresh retries once the link is up
      routeTable.setBranch(header.channel, setup.subscriptionId, prune ? undefined : { nextHost, variant, maxLatencyMs: setup.maxLatencyMs, expiresAt });
      const forwarded: MessageHeader = { ...header, hops: Math.min(255, header.hops + 1), latencyUs: Math.round(header.latencyUs + link.oneWayMs * 1000) };
      link.toWire(encode(forwarded, encodeRouteSetup({ ...setup, at: next })), this.options.now());
      return;
    }
  }
}
