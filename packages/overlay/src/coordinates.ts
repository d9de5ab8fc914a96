/**
 * Vivaldi network coordinates (Dabek et al., SIGCOMM 2004): each host gets a point in a plane
 * plus a height (its access link), fitted so distances predict measured round-trip times.
 * Estimates RTTs between hosts that never measured each other, from the RTTs of their links,
 * which is what a swap planner needs to judge a position a host does not hold yet.
 */
interface Coordinate {
  x: number;
  y: number;
  height: number;
  /** Relative error of this host's coordinate, 1 = knows nothing. */
  error: number;
  samples: number;
  /** Creation order: fixes the direction a host is pushed in while it sits on another. */
  index: number;
}

const CE = 0.25;
const CC = 0.25;
const MIN_HEIGHT = 0.1;

export class NetworkCoordinates<H = string> {
  private readonly coordinates = new Map<H, Coordinate>();
  private created = 0;

  /** Samples a host needs before its estimates are trusted. */
  constructor(private readonly minSamples = 3) {}

  private get(host: H): Coordinate {
    let c = this.coordinates.get(host);
    if (!c) this.coordinates.set(host, (c = { x: 0, y: 0, height: MIN_HEIGHT, error: 1, samples: 0, index: this.created++ }));
    return c;
  }

  forget(host: H): void {
    this.coordinates.delete(host);
  }

  private static distance(a: Coordinate, b: Coordinate): number {
    return Math.hypot(a.x - b.x, a.y - b.y) + a.height + b.height;
  }

  /** `host` measured `rttMs` to `peer`: move host's coordinate toward agreeing with it. */
  update(host: H, peer: H, rttMs: number): void {
    if (!(rttMs > 0) || !Number.isFinite(rttMs) || host === peer) return;
    const me = this.get(host);
    const other = this.get(peer);
    const predicted = NetworkCoordinates.distance(me, other);
    const weight = me.error / (me.error + other.error);
    const sampleError = Math.abs(predicted - rttMs) / rttMs;
    me.error = Math.min(1, sampleError * CE * weight + me.error * (1 - CE * weight));
    const delta = CC * weight * (rttMs - predicted);
    // The unit vector from peer to host in (plane, height) space: [x - y, hx + hy] over its
    // length, the predicted RTT. Heights always grow apart; planes move along x - y.
    let dx = me.x - other.x;
    let dy = me.y - other.y;
    if (dx === 0 && dy === 0) {
      // Coincident points (every host starts at the origin): push apart in a direction set
      // by the host's creation order, so hosts spread out and runs stay deterministic.
      const angle = (me.index + 1) * 2.399963;
      dx = Math.cos(angle) * 1e-3;
      dy = Math.sin(angle) * 1e-3;
    }
    const length = Math.hypot(dx, dy) + me.height + other.height;
    me.x += (delta * dx) / length;
    me.y += (delta * dy) / length;
    me.height = Math.max(MIN_HEIGHT, me.height + (delta * (me.height + other.height)) / length);
    me.samples++;
  }

  /** Estimated RTT in ms, or undefined until both hosts have enough samples. */
  estimateRtt(a: H, b: H): number | undefined {
    const ca = this.coordinates.get(a);
    const cb = this.coordinates.get(b);
    if (!ca || !cb || ca.samples < this.minSamples || cb.samples < this.minSamples) return undefined;
    return NetworkCoordinates.distance(ca, cb);
  }
}
