export interface RateLimit {
  /** Events a socket may send in a burst. */
  readonly burst: number;
  /** Sustained events per second. */
  readonly perSecond: number;
}

/**
 * A token bucket per socket. Generous by default: a host opening WebRTC links to its 22
 * neighbours trickles hundreds of ICE candidates in its first second.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly limit: RateLimit,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = limit.burst;
    this.last = now();
  }

  /** Takes one token; false when the socket is over its rate. */
  take(): boolean {
    const now = this.now();
    this.tokens = Math.min(this.limit.burst, this.tokens + ((now - this.last) / 1000) * this.limit.perSecond);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
