import { createRng, InvalidArgumentError, type Rng } from '@cubecast/overlay';

/** A delay range in ms: each edge of its class draws a delay from [min, max]. */
export type DelayRange = readonly [min: number, max: number];

/** How the edges inside one domain are drawn (GT-ITM's two usual choices). */
export type EdgeModel = 'random' | 'waxman';

/**
 * GT-ITM's transit-stub model: T transit domains of Nt routers; every transit router has K
 * stub domains of Ns routers hanging off it. The defaults (T=10, Nt=5, K=10, Ns=10) give 50
 * transit and 5000 stub routers, 5050 in all: the papers' size.
 */
export interface TransitStubParams {
  readonly transitDomains: number;
  readonly routersPerTransit: number;
  readonly stubsPerTransitRouter: number;
  readonly routersPerStub: number;
  readonly edges: EdgeModel;
  /** `random`: chance of each extra edge between two routers of a transit domain. */
  readonly transitEdgeProbability: number;
  /** `random`: chance of each extra edge between two routers of a stub domain. */
  readonly stubEdgeProbability: number;
  /** Chance of each extra link between two transit domains. */
  readonly interTransitProbability: number;
  /** `waxman`: P(edge) = alpha * exp(-d / (beta * L)) over positions in a unit square. */
  readonly waxmanAlpha: number;
  readonly waxmanBeta: number;
  readonly delays: {
    readonly interTransit: DelayRange;
    readonly intraTransit: DelayRange;
    readonly transitStub: DelayRange;
    readonly intraStub: DelayRange;
  };
}

export const DEFAULT_TRANSIT_STUB: TransitStubParams = {
  transitDomains: 10,
  routersPerTransit: 5,
  stubsPerTransitRouter: 10,
  routersPerStub: 10,
  edges: 'random',
  transitEdgeProbability: 0.6,
  stubEdgeProbability: 0.42,
  interTransitProbability: 0.3,
  waxmanAlpha: 0.6,
  waxmanBeta: 0.4,
  delays: {
    interTransit: [20, 60],
    intraTransit: [5, 20],
    transitStub: [2, 10],
    intraStub: [1, 5],
  },
};

/**
 * A generated underlay: routers `0..transitCount-1` are transit routers, the rest stub
 * routers, grouped by domain. Edges are undirected and stored both ways in compressed rows
 * (`targets[offsets[r]..offsets[r+1]]` are r's neighbours, `delays` their one-way delays).
 */
export interface Underlay {
  readonly params: TransitStubParams;
  readonly routerCount: number;
  readonly transitCount: number;
  /** Domain of each router: transit domains `0..T-1`, then stub domains. */
  readonly domainOf: Int32Array;
  readonly offsets: Int32Array;
  readonly targets: Int32Array;
  readonly delays: Float64Array;
  /** Undirected edges. */
  readonly edgeCount: number;
}

interface EdgeList {
  readonly from: number[];
  readonly to: number[];
  readonly delay: number[];
}

function drawIn(rng: Rng, [min, max]: DelayRange): number {
  return min + (max - min) * rng();
}

/**
 * Edges inside one domain, over routers `first..first+count-1`: a random spanning tree (each
 * router links to a random earlier one) so the domain is connected whatever the draw, then
 * each other pair independently, with the model's probability.
 */
function connectDomain(
  edges: EdgeList,
  rng: Rng,
  first: number,
  count: number,
  params: TransitStubParams,
  probability: number,
  range: DelayRange,
): void {
  const waxman = params.edges === 'waxman';
  const xs = new Float64Array(count);
  const ys = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    xs[i] = rng();
    ys[i] = rng();
  }
  const distance = (i: number, j: number) => Math.hypot(xs[i]! - xs[j]!, ys[i]! - ys[j]!);
  // With Waxman the delay follows the distance on the plane (the square's diagonal maps to
  // the range's top); random edges draw theirs uniformly.
  const delayOf = (i: number, j: number) =>
    waxman ? range[0] + ((range[1] - range[0]) * distance(i, j)) / Math.SQRT2 : drawIn(rng, range);
  const linked = new Set<number>();
  const add = (i: number, j: number) => {
    linked.add(i * count + j).add(j * count + i);
    edges.from.push(first + i);
    edges.to.push(first + j);
    edges.delay.push(delayOf(i, j));
  };
  for (let i = 1; i < count; i++) add(i, Math.floor(rng() * i));
  for (let i = 0; i < count; i++) {
    for (let j = i + 1; j < count; j++) {
      if (linked.has(i * count + j)) continue;
      const p = waxman ? params.waxmanAlpha * Math.exp(-distance(i, j) / (params.waxmanBeta * Math.SQRT2)) : probability;
      if (rng() < p) add(i, j);
    }
  }
}

function assertParams(p: TransitStubParams): void {
  const counts = [p.transitDomains, p.routersPerTransit, p.stubsPerTransitRouter, p.routersPerStub];
  if (!counts.every((c) => Number.isInteger(c) && c >= 1)) {
    throw new InvalidArgumentError(`domain counts and sizes must be positive integers, got ${counts.join(', ')}`);
  }
  const probabilities = [p.transitEdgeProbability, p.stubEdgeProbability, p.interTransitProbability, p.waxmanAlpha];
  if (!probabilities.every((q) => q >= 0 && q <= 1)) throw new InvalidArgumentError('edge probabilities must be in [0, 1]');
  if (!(p.waxmanBeta > 0)) throw new InvalidArgumentError('waxmanBeta must be positive');
  for (const [name, [min, max]] of Object.entries(p.delays)) {
    if (!(min > 0 && max >= min)) throw new InvalidArgumentError(`delay range ${name} must satisfy 0 < min <= max`);
  }
}

/** A transit-stub underlay drawn from `seed`: the same seed and parameters give the same graph. */
export function generateTransitStub(seed: number, overrides: Partial<TransitStubParams> = {}): Underlay {
  const params = { ...DEFAULT_TRANSIT_STUB, ...overrides };
  assertParams(params);
  const rng = createRng(seed);
  const { transitDomains: T, routersPerTransit: Nt, stubsPerTransitRouter: K, routersPerStub: Ns } = params;
  const transitCount = T * Nt;
  const routerCount = transitCount * (1 + K * Ns);
  const domainOf = new Int32Array(routerCount);
  const edges: EdgeList = { from: [], to: [], delay: [] };

  for (let d = 0; d < T; d++) {
    domainOf.fill(d, d * Nt, (d + 1) * Nt);
    connectDomain(edges, rng, d * Nt, Nt, params, params.transitEdgeProbability, params.delays.intraTransit);
  }
  // Transit domains are joined like routers of a domain: a spanning tree, then extra links,
  // each between a random router of either side.
  const linkDomains = (a: number, b: number) => {
    edges.from.push(a * Nt + Math.floor(rng() * Nt));
    edges.to.push(b * Nt + Math.floor(rng() * Nt));
    edges.delay.push(drawIn(rng, params.delays.interTransit));
  };
  for (let d = 1; d < T; d++) linkDomains(d, Math.floor(rng() * d));
  for (let a = 0; a < T; a++) {
    for (let b = a + 1; b < T; b++) if (rng() < params.interTransitProbability) linkDomains(a, b);
  }
  let next = transitCount;
  let domain = T;
  for (let t = 0; t < transitCount; t++) {
    for (let s = 0; s < K; s++) {
      domainOf.fill(domain++, next, next + Ns);
      connectDomain(edges, rng, next, Ns, params, params.stubEdgeProbability, params.delays.intraStub);
      edges.from.push(t);
      edges.to.push(next + Math.floor(rng() * Ns));
      edges.delay.push(drawIn(rng, params.delays.transitStub));
      next += Ns;
    }
  }
  return { params, routerCount, transitCount, domainOf, edgeCount: edges.from.length, ...toCompressedRows(routerCount, edges) };
}

/**
 * An underlay from an explicit edge list `[a, b, delayMs]`: hand-made graphs for tests, or a
 * measured topology. Routers below `transitCount` are transit routers; hosts attach to the rest.
 */
export function underlayFromEdges(routerCount: number, transitCount: number, list: readonly (readonly [number, number, number])[]): Underlay {
  const edges: EdgeList = { from: [], to: [], delay: [] };
  for (const [a, b, delay] of list) {
    if (!(Number.isInteger(a) && Number.isInteger(b) && a >= 0 && b >= 0 && a < routerCount && b < routerCount && a !== b)) {
      throw new InvalidArgumentError(`edge ${a}-${b} does not join two routers of ${routerCount}`);
    }
    if (!(delay > 0)) throw new InvalidArgumentError(`edge ${a}-${b} needs a positive delay, got ${delay}`);
    edges.from.push(a);
    edges.to.push(b);
    edges.delay.push(delay);
  }
  const domainOf = new Int32Array(routerCount);
  return { params: DEFAULT_TRANSIT_STUB, routerCount, transitCount, domainOf, edgeCount: list.length, ...toCompressedRows(routerCount, edges) };
}

function toCompressedRows(routerCount: number, edges: EdgeList) {
  const offsets = new Int32Array(routerCount + 1);
  for (let e = 0; e < edges.from.length; e++) {
    offsets[edges.from[e]! + 1]!++;
    offsets[edges.to[e]! + 1]!++;
  }
  for (let r = 0; r < routerCount; r++) offsets[r + 1]! += offsets[r]!;
  const fill = offsets.slice(0, routerCount);
  const targets = new Int32Array(offsets[routerCount]!);
  const delays = new Float64Array(offsets[routerCount]!);
  for (let e = 0; e < edges.from.length; e++) {
    const a = edges.from[e]!;
    const b = edges.to[e]!;
    targets[fill[a]!] = b;
    delays[fill[a]!++] = edges.delay[e]!;
    targets[fill[b]!] = a;
    delays[fill[b]!++] = edges.delay[e]!;
  }
  return { offsets, targets, delays };
}
