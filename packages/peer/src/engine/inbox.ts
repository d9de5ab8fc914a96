import { BandwidthBucket, type LinkClock } from './link.js';

/**
 * What arrives from linked hosts, paced to the host's emulated download bandwidth: handled at
 * once when the bucket has room (always, without emulation), else queued in arrival order
 * and handled as the bucket refills.
 */
export class Inbox {
  private readonly queue: { hostId: string; bytes: Uint8Array }[] = [];
  private readonly bucket: BandwidthBucket;
  private timer: unknown;

  /** `total`: the host's total bandwidth, which what arrives shares with what leaves. */
  constructor(
    private readonly clock: LinkClock,
    private readonly handle: (hostId: string, bytes: Uint8Array) => void,
    total?: BandwidthBucket,
  ) {
    this.bucket = new BandwidthBucket(undefined, clock.now(), total);
  }

  /** The emulated download cap; undefined lifts it. */
  setRate(kbps: number | undefined): void {
    this.bucket.setRate(kbps);
  }

  /** `now`: the caller's clock read, which it has for its own bookkeeping (one read a message). */
  receive(hostId: string, bytes: Uint8Array, now: number): void {
    if (this.queue.length === 0 && this.timer === undefined && this.bucket.take(bytes.byteLength, now) === 0) {
      this.handle(hostId, bytes);
      return;
    }
    this.queue.push({ hostId, bytes });
    this.drain();
  }

  private drain(): void {
    if (this.timer !== undefined) return;
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      const wait = this.bucket.take(next.bytes.byteLength, this.clock.now());
      if (wait > 0) {
        this.timer = this.clock.set(() => {
          this.timer = undefined;
          this.drain();
        }, wait);
        return;
      }
      this.queue.shift();
      this.handle(next.hostId, next.bytes);
    }
  }

  /** Drops what waits, and its timer. */
  close(): void {
    if (this.timer !== undefined) this.clock.clear(this.timer);
    this.timer = undefined;
    this.queue.length = 0;
  }
}
