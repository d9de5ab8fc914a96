import { createRng, InvalidArgumentError, randomInt } from '@cubecast/overlay';
import type { RouterDistances } from './shortest-paths.js';
import type { DelayRange } from './transit-stub.js';

/** End hosts hang off stub routers, each over its own access link (its last mile). */
export const DEFAULT_ACCESS_DELAY: DelayRange = [1, 5];

/**
 * Hosts placed on an underlay: host h sits behind stub router `routerOf[h]`, `access[h]` ms
 * away. Latency between two hosts is their access delays plus the shortest router path; the
 * overlay sees nothing else (no queueing, no loss: the papers' model too).
 */
export class HostNetwork {
  readonly count: number;
  readonly routerOf: Int32Array;
  readonly access: Float64Array;

  constructor(
    readonly distances: RouterDistances,
    count: number,
    seed: number,
    accessDelay: DelayRange = DEFAULT_ACCESS_DELAY,
  ) {
    if (!Number.isInteger(count) || count < 1) throw new InvalidArgumentError(`host count must be a positive integer, got ${count}`);
    const { transitCount, routerCount } = distances.underlay;
    const rng = createRng(seed);
    this.count = count;
    this.routerOf = new Int32Array(count);
    this.access = new Float64Array(count);
    const [min, max] = accessDelay;
    for (let h = 0; h < count; h++) {
      this.routerOf[h] = transitCount + randomInt(rng, routerCount - transitCount);
      this.access[h] = min + (max - min) * rng();
    }
  }

  /** One-way latency between two hosts in ms (0 from a host to itself). */
  latency(a: number, b: number): number {
    if (a === b) return 0;
    return this.access[a]! + this.distances.distance(this.routerOf[a]!, this.routerOf[b]!) + this.access[b]!;
  }

  /**
   * Calls `visit` with a key for each physical link a packet from `a` to `b` crosses: a's
   * access link, the routers' shortest path, b's access link. Keys are unique per link and
   * the same in both directions.
   */
  forEachPhysicalLink(a: number, b: number, visit: (link: number) => void): void {
    if (a === b) return;
    const routers = this.distances.underlay.routerCount;
    const accessKey = (h: number) => routers * routers + h;
    visit(accessKey(a));
    this.distances.forEachLink(this.routerOf[a]!, this.routerOf[b]!, (x, y) => visit(x < y ? x * routers + y : y * routers + x));
    visit(accessKey(b));
  }
}
