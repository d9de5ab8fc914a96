import type { Cube, LogicalId } from './cube.js';
import type { HostKey } from './ownership.js';
import { createRouter, pathCost, type LinkCost, type RoutingPolicy } from './routing.js';

/** What a swap planner may read of the overlay; nothing here mutates it. */
export interface SwapView {
  readonly cube: Cube;
  ownerOf(id: LogicalId): HostKey | undefined;
  idsOf(host: HostKey): readonly LogicalId[];
  /** Measured one-way latency between two hosts, in ms. */
  hostCost(a: HostKey, b: HostKey): number;
  readonly policy: RoutingPolicy;
  readonly seed?: number;
  /** Hosts that must not be displaced (subscribers with bounds of their own). */
  isProtected?(host: HostKey): boolean;
}

export interface SwapRequest {
  readonly subscriber: HostKey;
  readonly publisher: HostKey;
  /** The publisher's id the channel is anchored at: every route starts there. */
  readonly anchor: LogicalId;
  readonly boundMs: number;
}

/** Exchange the owners of `give` (the subscriber's) and `take` (the displaced host's). */
export interface SwapPlan {
  readonly subscriber: HostKey;
  readonly give: LogicalId;
  readonly displaced: HostKey;
  readonly take: LogicalId;
  readonly latencyBefore: number;
  readonly latencyAfter: number;
  /** Logical hops from the anchor to `take`: how deep the planner looked to find it. */
  readonly depth: number;
}

/**
 * Positions the exhaustive planner evaluates at most per decision (two route computations
 * each): degree^D grows fast (22^3 = 10648 on the 3-ary 11-cube), and a server decides swaps
 * inline. Nearer positions are evaluated first, so a cut search keeps the nearest.
 */
export const DEFAULT_SWAP_BUDGET = 256;

/** The id a channel enters the cube at: its publisher's smallest. */
export function channelAnchor(ids: Iterable<LogicalId>): LogicalId {
  let anchor = -1;
  for (const id of ids) if (anchor < 0 || id < anchor) anchor = id;
  if (anchor < 0) throw new RangeError('a host with no ids cannot publish');
  return anchor;
}

/** The id a route to `host` ends at: its id fewest hops from `from` (ties: smaller id). */
export function routeTarget(cube: Cube, from: LogicalId, ids: Iterable<LogicalId>): LogicalId {
  let best = -1;
  let bestHops = Infinity;
  for (const id of ids) {
    const hops = cube.hopDistance(from, id);
    if (hops < bestHops || (hops === bestHops && id < best)) {
      best = id;
      bestHops = hops;
    }
  }
  if (best < 0) throw new RangeError('a host with no ids cannot be routed to');
  return best;
}

/** Link costs on logical ids: free between ids of one host, the hosts' latency otherwise. */
export function hostLinkCost<H = HostKey>(
  ownerOf: (id: LogicalId) => H | undefined,
  hostCost: (a: H, b: H) => number,
): LinkCost {
  return (a, b) => {
    const ha = ownerOf(a);
    const hb = ownerOf(b);
    if (ha === undefined || hb === undefined) return Infinity;
    return ha === hb ? 0 : hostCost(ha, hb);
  };
}

/** The subscriber's route latency from the anchor, optionally as if two ids had swapped owners. */
export function subscriberLatency(
  view: SwapView,
  request: SwapRequest,
  swapped?: readonly [LogicalId, LogicalId],
): number {
  const ownerOf = swapped ? swappedOwners(view, swapped) : (id: LogicalId) => view.ownerOf(id);
  const cost = hostLinkCost(ownerOf, view.hostCost);
  const ids = swapped
    ? view.idsOf(request.subscriber).map((id) => (id === swapped[0] ? swapped[1] : id))
    : view.idsOf(request.subscriber);
  const target = routeTarget(view.cube, request.anchor, ids);
  const router = createRouter(view.cube, { policy: view.policy, seed: view.seed ?? 0, cost });
  return pathCost(router.path(request.anchor, target), cost);
}

function swappedOwners(view: SwapView, [a, b]: readonly [LogicalId, LogicalId]) {
  const ownerA = view.ownerOf(a);
  const ownerB = view.ownerOf(b);
  return (id: LogicalId) => (id === a ? ownerB : id === b ? ownerA : view.ownerOf(id));
}

/**
 * Turns a candidate position into a plan, only if the swap strictly lowers the subscriber's
 * route latency. The papers' rules pick positions by link costs near the publisher, which
 * usually but not always shortens the route; this guard makes "never worse" a guarantee.
 */
function planIfBetter(view: SwapView, request: SwapRequest, take: LogicalId): SwapPlan | null {
  const displaced = view.ownerOf(take);
  if (displaced === undefined || displaced === request.subscriber || displaced === request.publisher) return null;
  const give = routeTarget(view.cube, request.anchor, view.idsOf(request.subscriber));
  const latencyBefore = subscriberLatency(view, request);
  const latencyAfter = subscriberLatency(view, request, [give, take]);
  if (!(latencyAfter < latencyBefore)) return null;
  return { subscriber: request.subscriber, give, displaced, take, latencyBefore, latencyAfter, depth: view.cube.hopDistance(request.anchor, take) };
}

/** Neighbours of `at` that a subscriber could take: not the publisher's, not its own. */
function candidates(view: SwapView, request: SwapRequest, at: LogicalId): LogicalId[] {
  return view.cube.neighbours(at).filter((id) => {
    const owner = view.ownerOf(id);
    return owner !== undefined && owner !== request.publisher && owner !== request.subscriber;
  });
}

function costTo(view: SwapView, id: LogicalId, to: LogicalId): number {
  return view.hostCost(view.ownerOf(id)!, view.ownerOf(to)!);
}

/**
 * The paper's Subscribe(S, P) (Fig. 5): at P, pick the neighbour i whose link to P is within
 * S's bound (the first in odr order), else the cheapest; if i's host is not a subscriber, S
 * takes i's position, else the search moves on to i. Walks at most the cube's diameter.
 */
export function planSwapFig5(view: SwapView, request: SwapRequest): SwapPlan | null {
  if (ownsNeighbourOf(view, request, request.anchor)) return null;
  const visited = new Set<LogicalId>([request.anchor]);
  let at = request.anchor;
  for (let step = 0; step < view.cube.diameter; step++) {
    const options = candidates(view, request, at).filter((id) => !visited.has(id));
    if (options.length === 0) return null;
    const i =
      options.find((id) => costTo(view, id, at) < request.boundMs) ??
      options.reduce((best, id) => (costTo(view, id, at) < costTo(view, best, at) ? id : best));
    if (!view.isProtected?.(view.ownerOf(i)!)) return planIfBetter(view, request, i);
    visited.add(i);
    at = i;
  }
  return null;
}

/**
 * The slides' depth-D Subscribe(S, P, d): at P, find the neighbour i with the most costly link
 * to P; if S is closer to P than i is, S takes i's position, else recurse at i, up to D logical
 * hops from the publisher. Protected hosts are never displaced.
 */
export function planSwapDepth(view: SwapView, request: SwapRequest, depth: number): SwapPlan | null {
  if (ownsNeighbourOf(view, request, request.anchor)) return null;
  let at = request.anchor;
  for (let d = 0; d < depth; d++) {
    const options = candidates(view, request, at).filter((id) => !view.isProtected?.(view.ownerOf(id)!));
    if (options.length === 0) return null;
    const i = options.reduce((worst, id) => (costTo(view, id, at) > costTo(view, worst, at) ? id : worst));
    const subscriberCost = view.hostCost(request.subscriber, view.ownerOf(at)!);
    if (subscriberCost < costTo(view, i, at)) return planIfBetter(view, request, i);
    at = i;
  }
  return null;
}

/**
 * Cubecast's own planner: every position within D hops of the anchor is tried, nearest first,
 * and the swap that lowers the subscriber's latency most is returned. It finds what the papers'
 * rules find and more, at the cost of one route evaluation per candidate (degree^D at most),
 * never more than `budget` of them per decision.
 */
export function planSwapBest(view: SwapView, request: SwapRequest, depth: number, budget = DEFAULT_SWAP_BUDGET): SwapPlan | null {
  let best: SwapPlan | null = null;
  const seen = new Set<LogicalId>([request.anchor]);
  let ring = [request.anchor];
  let evaluated = 0;
  for (let d = 0; d < depth; d++) {
    const next: LogicalId[] = [];
    for (const at of ring) {
      for (const id of view.cube.neighbours(at)) {
        if (seen.has(id)) continue;
        seen.add(id);
        next.push(id);
        const owner = view.ownerOf(id);
        if (owner === undefined || view.isProtected?.(owner)) continue;
        if (evaluated++ >= budget) return best;
        const plan = planIfBetter(view, request, id);
        if (plan && (!best || plan.latencyAfter < best.latencyAfter)) best = plan;
      }
    }
    ring = next;
  }
  return best;
}

function ownsNeighbourOf(view: SwapView, request: SwapRequest, at: LogicalId): boolean {
  return view.cube.neighbours(at).some((id) => view.ownerOf(id) === request.subscriber);
}
