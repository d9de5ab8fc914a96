import { decodeRouteSetup, encodeRouteSetup, MessageType, parsePipeline, type MessageHeader, type RouteSetup, type SpaSpec } from '@cubecast/protocol';
import type { AlgorithmContext, AlgorithmFactory, AlgorithmMessage, OverlayAlgorithm } from '../engine/algorithm.js';
import { secondPath, SPLIT } from '../engine/pipeline-host.js';

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

/** After a change of view or links, routes are laid again this soon rather than at the next refresh. */
const REFRESH_SOON_MS = 20;

/**
 * The paper's cube routing (seed 002) as the engine's first algorithm: a publisher keeps the
 * routes the server asked it for and sends their setups (and prunes) from the channel's
 * anchor; every host walks a setup through the ids it owns under the subscription's policy
 * (odr, random, greedy), records a soft-state branch toward the host owning the next id, and
 * passes the setup on. Refreshing the setups keeps the branches alive, and re-lays them over
 * a new topology.
 */
export class CubeRouting implements OverlayAlgorithm {
  readonly name = 'cube';
  private readonly routes = new Map<string, RouteRequestInfo>();
  private context!: AlgorithmContext;

  constructor(private readonly refreshMs: number) {}

  /** Routes this host keeps alive as a publisher. */
  get size(): number {
    return this.routes.size;
  }

  start(context: AlgorithmContext): void {
    this.context = context;
    context.setTimer('refresh', this.refreshMs);
  }

  process(message: AlgorithmMessage): void {
    switch (message.type) {
      case 'route:request':
        // Set up (or move) the route now, then keep it alive.
        this.routes.set(message.route.subscriptionId, message.route);
        this.originate(message.route, MessageType.RouteSetup);
        return;
      case 'route:cancel': {
        const route = this.routes.get(message.subscriptionId);
        if (!route) return;
        this.routes.delete(message.subscriptionId);
        this.originate(route, MessageType.RoutePrune);
        return;
      }
      case 'channel:unpublished':
        for (const [id, route] of this.routes) if (route.channel === message.channel) this.routes.delete(id);
        return;
      case 'protocol': {
        const { header } = message;
        if (header.type !== MessageType.RouteSetup && header.type !== MessageType.RoutePrune) return;
        let setup: RouteSetup;
        try {
          setup = decodeRouteSetup(message.payload);
        } catch {
          this.context.refused();
          return;
        }
        this.step(header, setup, header.type);
        return;
      }
      case 'view':
      case 'link:up':
      case 'link:down':
        if (this.routes.size > 0 && !this.context.hasTimer('refresh-soon')) this.context.setTimer('refresh-soon', REFRESH_SOON_MS);
        return;
      case 'timer':
        if (message.name === 'refresh') this.context.setTimer('refresh', this.refreshMs);
        this.refresh();
        return;
    }
  }

  /** Sends every kept route's setup again; one that throws costs only itself. */
  private refresh(): void {
    for (const route of this.routes.values()) {
      try {
        this.originate(route, MessageType.RouteSetup);
      } catch (error) {
        this.context.reportError(error);
      }
    }
  }

  private originate(route: RouteRequestInfo, type: SetupType): void {
    const anchor = this.context.anchorOf(route.channel);
    const epoch = this.context.topology.epoch;
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
  private step(header: MessageHeader, setup: RouteSetup, type: SetupType): void {
    const { topology } = this.context;
    // A setup from another epoch, or one addressed to an id this host no longer owns, is from
    // before a topology change; the publisher's next refresh routes over the new one.
    if (setup.epoch !== topology.epoch) return;
    const router = topology.router(setup.policy);
    let at = setup.at;
    if (!router || !topology.owns(at)) return;
    const pipeline = parsePipeline(setup.pipeline);
    const variant = pipeline ? this.context.variantOf(pipeline) : undefined;
    if (variant === undefined) {
      this.context.refused();
      return;
    }
    const prune = type === MessageType.RoutePrune;
    for (;;) {
      if (at === header.destination) {
        this.context.setLocal(header.channel, setup.subscriptionId, prune ? undefined : { variant });
        if (type === MessageType.RouteSetup) this.context.established(header.channel, setup.subscriptionId, header.hops, header.latencyUs);
        return;
      }
      const next = router.nextHop(at, header.destination, header.source);
      if (next === null) return;
      if (topology.owns(next)) {
        at = next;
        continue;
      }
      const nextHost = topology.ownerOf(next);
      const link = nextHost ? this.context.link(nextHost) : undefined;
      if (!nextHost || !link || link.state !== 'open') return; // the refresh retries once the link is up
      this.context.setBranch(header.channel, setup.subscriptionId, prune ? undefined : { nextHost, variant, maxLatencyMs: setup.maxLatencyMs });
      const forwarded: MessageHeader = { ...header, hops: Math.min(255, header.hops + 1), latencyUs: Math.round(header.latencyUs + link.oneWayMs * 1000) };
      this.context.send(nextHost, forwarded, encodeRouteSetup({ ...setup, at: next }));
      return;
    }
  }
}

export const cubeRouting: AlgorithmFactory = ({ refreshMs }) => new CubeRouting(refreshMs);
