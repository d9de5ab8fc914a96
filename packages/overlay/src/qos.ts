/**
 * The papers' QoS metrics. Latencies and bounds are in one unit (ms throughout Cubecast).
 */

/** Overlay route latency over direct unicast latency (>= 1 on a metric underlay). */
export function delayPenalty(routeLatency: number, unicastLatency: number): number {
  if (!(unicastLatency > 0)) throw new RangeError(`unicast latency must be positive, got ${unicastLatency}`);
  return routeLatency / unicastLatency;
}

/** 0 when on time, else how far past its bound, relative to the bound. */
export function normalizedLateness(latency: number, bound: number): number {
  if (!(bound > 0)) throw new RangeError(`a latency bound must be positive, got ${bound}`);
  return latency <= bound ? 0 : (latency - bound) / bound;
}

export interface Outcome {
  readonly latency: number;
  readonly bound: number;
}

/** Subscribers whose latency is within their bound, over all subscribers (1 when none). */
export function successRatio(outcomes: readonly Outcome[]): number {
  if (outcomes.length === 0) return 1;
  let met = 0;
  for (const { latency, bound } of outcomes) if (latency <= bound) met++;
  return met / outcomes.length;
}

export function meanNormalizedLateness(outcomes: readonly Outcome[]): number {
  if (outcomes.length === 0) return 0;
  let sum = 0;
  for (const { latency, bound } of outcomes) sum += normalizedLateness(latency, bound);
  return sum / outcomes.length;
}

export interface LinkStress {
  /** Crossings of physical links by one chunk, summed over links. */
  readonly crossings: number;
  /** Physical links the chunk used at least once. */
  readonly uniqueLinks: number;
  /** crossings / uniqueLinks: 1 for IP multicast, more when overlay copies share links. */
  readonly stress: number;
  readonly maxStress: number;
}

/**
 * Link stress of one chunk's delivery: every host-to-host copy in `forwarding` crosses the
 * physical links of its unicast path.
 */
export function linkStress<H, L>(
  forwarding: ReadonlyMap<H, ReadonlySet<H>>,
  physicalPath: (from: H, to: H) => Iterable<L>,
): LinkStress {
  const counts = new Map<L, number>();
  let crossings = 0;
  for (const [from, targets] of forwarding) {
    for (const to of targets) {
      for (const link of physicalPath(from, to)) {
        counts.set(link, (counts.get(link) ?? 0) + 1);
        crossings++;
      }
    }
  }
  let maxStress = 0;
  for (const c of counts.values()) if (c > maxStress) maxStress = c;
  const uniqueLinks = counts.size;
  return { crossings, uniqueLinks, stress: uniqueLinks === 0 ? 0 : crossings / uniqueLinks, maxStress };
}

/** Degree of each host in the dissemination tree: copies it sends plus copies it receives. */
export function treeDegrees<H>(forwarding: ReadonlyMap<H, ReadonlySet<H>>): Map<H, number> {
  const degrees = new Map<H, number>();
  for (const [from, targets] of forwarding) {
    degrees.set(from, (degrees.get(from) ?? 0) + targets.size);
    for (const to of targets) degrees.set(to, (degrees.get(to) ?? 0) + 1);
  }
  return degrees;
}

/** iOverlay's node stress: tree degree over the host's last-mile bandwidth. */
export function nodeStress(degree: number, bandwidth: number): number {
  if (!(bandwidth > 0)) throw new RangeError(`bandwidth must be positive, got ${bandwidth}`);
  return degree / bandwidth;
}

export interface Summary {
  readonly count: number;
  readonly mean: number;
  readonly min: number;
  readonly p10: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

/** Mean and nearest-rank percentiles. */
export function summarize(values: ArrayLike<number>): Summary {
  const sorted = Float64Array.from(values).sort();
  const count = sorted.length;
  if (count === 0) return { count, mean: NaN, min: NaN, p10: NaN, p50: NaN, p90: NaN, p99: NaN, max: NaN };
  let sum = 0;
  for (const v of sorted) sum += v;
  const at = (p: number) => sorted[Math.min(count - 1, Math.max(0, Math.ceil(p * count) - 1))]!;
  return {
    count,
    mean: sum / count,
    min: sorted[0]!,
    p10: at(0.1),
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    max: sorted[count - 1]!,
  };
}
