import type { Cube, LogicalId } from './cube.js';
import { InvalidArgumentError } from './errors.js';
import { createRng, hash32, randomInt } from './random.js';

export const ROUTING_POLICIES = ['odr', 'random', 'greedy'] as const;
export type RoutingPolicy = (typeof ROUTING_POLICIES)[number];

export function isRoutingPolicy(value: string): value is RoutingPolicy {
  return (ROUTING_POLICIES as readonly string[]).includes(value);
}

/** Cost of the logical link `from -> to` (for example its measured latency in ms). */
export type LinkCost = (from: LogicalId, to: LogicalId) => number;

export interface RouterOptions {
  readonly policy: RoutingPolicy;
  /** Seeds the dimension order of `random`; ignored by the others. Default 0. */
  readonly seed?: number;
  /** Required by `greedy`; ignored by the others. */
  readonly cost?: LinkCost;
}

/**
 * Computes routes hop by hop, as relays do: `nextHop` needs only the current node, the
 * destination and the route's source, so every relay of a route makes the same decision the
 * whole-path function does. Every policy takes minimal-hop paths.
 */
export interface Router {
  readonly cube: Cube;
  readonly policy: RoutingPolicy;
  /** The next node toward `destination`, or null when `current` is the destination. */
  nextHop(current: LogicalId, destination: LogicalId, source: LogicalId): LogicalId | null;
  /** The whole route, source and destination included. */
  path(source: LogicalId, destination: LogicalId): LogicalId[];
}

/**
 * Direction that shortens the ring distance from digit c to digit d (c != d). At exactly k/2
 * both are minimal and +1 is taken: DESIGN.md's odr tie rule, shared by `random`.
 */
function shorterDirection(k: number, c: number, d: number): 1 | -1 {
  const forward = (d - c + k) % k;
  return forward <= k - forward ? 1 : -1;
}

/** One step of dimension `dim` (current digit c) toward destination digit d. */
function stepToward(cube: Cube, current: LogicalId, dim: number, c: number, d: number): LogicalId {
  const { k } = cube;
  const next = (c + shorterDirection(k, c, d) + k) % k;
  return current + (next - c) * cube.weights[dim]!;
}

function odrNextHop(cube: Cube, current: LogicalId, destination: LogicalId): LogicalId | null {
  const { k, n, weights } = cube;
  for (let dim = 0; dim < n; dim++) {
    const w = weights[dim]!;
    const c = Math.floor(current / w) % k;
    const d = Math.floor(destination / w) % k;
    if (c !== d) return stepToward(cube, current, dim, c, d);
  }
  return null;
}

export function createRouter(cube: Cube, options: RouterOptions): Router {
  switch (options.policy) {
    case 'odr':
      return new OdrRouter(cube);
    case 'random':
      return new RandomRouter(cube, options.seed ?? 0);
    case 'greedy':
      if (!options.cost) throw new InvalidArgumentError('greedy routing needs a link cost function');
      return new GreedyRouter(cube, options.cost);
    default:
      throw new InvalidArgumentError(
        `unknown routing policy "${String(options.policy)}": expected ${ROUTING_POLICIES.join(', ')}`,
      );
  }
}

abstract class BaseRouter implements Router {
  abstract readonly policy: RoutingPolicy;
  constructor(readonly cube: Cube) {}

  abstract nextHop(current: LogicalId, destination: LogicalId, source: LogicalId): LogicalId | null;

  path(source: LogicalId, destination: LogicalId): LogicalId[] {
    this.cube.assertId(source);
    this.cube.assertId(destination);
    const path = [source];
    let current: LogicalId | null = source;
    while ((current = this.nextHop(current, destination, source)) !== null) path.push(current);
    return path;
  }
}

/** Ordered-dimension routing: correct dimensions left to right. */
class OdrRouter extends BaseRouter {
  readonly policy = 'odr';

  nextHop(current: LogicalId, destination: LogicalId): LogicalId | null {
    return odrNextHop(this.cube, current, destination);
  }
}

/**
 * Random ordering of dimensions: each route corrects its dimensions in an order drawn from
 * (seed, source, destination), the shorter way round each ring. Deriving the order from the
 * route's endpoints keeps it stateless: a relay recomputes it from the message header.
 */
class RandomRouter extends BaseRouter {
  readonly policy = 'random';
  private readonly order: Int32Array;
  private orderFor = { source: -1, destination: -1 };

  constructor(
    cube: Cube,
    private readonly seed: number,
  ) {
    super(cube);
    this.order = new Int32Array(cube.n);
  }

  /** Fisher-Yates over the dimensions, cached for the last route asked about. */
  private dimensionOrder(source: LogicalId, destination: LogicalId): Int32Array {
    if (this.orderFor.source === source && this.orderFor.destination === destination) return this.order;
    const rng = createRng(hash32(this.seed, source, destination));
    const order = this.order;
    for (let i = 0; i < order.length; i++) order[i] = i;
    for (let i = order.length - 1; i > 0; i--) {
      const j = randomInt(rng, i + 1);
      const t = order[i]!;
      order[i] = order[j]!;
      order[j] = t;
    }
    this.orderFor = { source, destination };
    return order;
  }

  nextHop(current: LogicalId, destination: LogicalId, source: LogicalId): LogicalId | null {
    const { k, weights } = this.cube;
    for (const dim of this.dimensionOrder(source, destination)) {
      const w = weights[dim]!;
      const c = Math.floor(current / w) % k;
      const d = Math.floor(destination / w) % k;
      if (c !== d) return stepToward(this.cube, current, dim, c, d);
    }
    return null;
  }
}

/**
 * Proximity-based greedy routing: among the neighbours that reduce the hop distance, the one
 * whose link costs least. Candidates are visited in odr order (dimension ascending, +1 before
 * -1) and only a strictly cheaper one replaces the best, so ties go to odr order.
 */
class GreedyRouter extends BaseRouter {
  readonly policy = 'greedy';

  /**
   * On the hypercube, where routes are walked most (the simulator's millions), both ways round
   * a dimension are the one neighbour across its bit: it is costed once, and only the bits
   * that differ are visited (as 32-bit integers: cubes of up to 2^31 ids).
   */
  private readonly bitwise: boolean;

  constructor(
    cube: Cube,
    private readonly cost: LinkCost,
  ) {
    super(cube);
    this.bitwise = cube.k === 2 && cube.size <= 2 ** 31;
  }

  nextHop(current: LogicalId, destination: LogicalId): LogicalId | null {
    const best = this.bitwise ? this.cheapestAcrossBits(current, destination) : this.cheapestImproving(current, destination);
    // Every improving link costs Infinity or NaN (say, none measured yet): still make
    // progress, in odr order.
    return best >= 0 ? best : odrNextHop(this.cube, current, destination);
  }

  /** `cheapestImproving` on the hypercube: the differing bits, highest first (dimension 0 is the highest digit). */
  private cheapestAcrossBits(current: LogicalId, destination: LogicalId): LogicalId {
    let best = -1;
    let bestCost = Infinity;
    for (let diff = current ^ destination; diff !== 0; ) {
      const bit = 2 ** (31 - Math.clz32(diff));
      diff -= bit;
      const candidate = current ^ bit;
      const cost = this.cost(current, candidate);
      if (cost < bestCost) {
        best = candidate;
        bestCost = cost;
      }
    }
    return best;
  }

  /** The cheapest neighbour that reduces the hop distance (-1 when none costs less than Infinity). */
  private cheapestImproving(current: LogicalId, destination: LogicalId): LogicalId {
    const { k, n, weights } = this.cube;
    let best = -1;
    let bestCost = Infinity;
    for (let dim = 0; dim < n; dim++) {
      const w = weights[dim]!;
      const c = Math.floor(current / w) % k;
      const d = Math.floor(destination / w) % k;
      if (c === d) continue;
      const forward = (d - c + k) % k;
      const backward = k - forward;
      if (forward <= backward) {
        const candidate = current + (((c + 1) % k) - c) * w;
        const cost = this.cost(current, candidate);
        if (cost < bestCost) {
          best = candidate;
          bestCost = cost;
        }
      }
      if (backward <= forward) {
        const candidate = current + (((c - 1 + k) % k) - c) * w;
        const cost = this.cost(current, candidate);
        if (cost < bestCost) {
          best = candidate;
          bestCost = cost;
        }
      }
    }
    return best;
  }
}

/** Sum of link costs along a path. */
export function pathCost(path: readonly LogicalId[], cost: LinkCost): number {
  let total = 0;
  for (let i = 1; i < path.length; i++) total += cost(path[i - 1]!, path[i]!);
  return total;
}

/**
 * Seeded, symmetric link costs uniform in [min, max): a stand-in underlay for the CLI and
 * for tests when no measurements are given.
 */
export function randomLinkCosts(seed: number, min = 1, max = 100): LinkCost {
  return (a, b) => {
    const lo = a < b ? a : b;
    const hi = a < b ? b : a;
    return min + ((max - min) * hash32(seed, lo, hi)) / 4294967296;
  };
}
