/**
 * A data channel's backlog, read through Chromium's `bufferedAmount`, which on a partially
 * reliable channel never goes back down by the bytes of a message SCTP abandoned (measured:
 * a lane that lost a ping reads 47 bytes, one ping, for good; with FEC at 10% loss, 64 KiB
 * within a minute and 1 MiB within a few, and a link held back by that stops for ever).
 * Traffic there comes in bursts (frames, pings), so a healthy channel drains to its leak
 * between them: what it has not gone below for a second or two is the leak, and only the
 * rest is a backlog.
 */
export class LeakyBufferedAmount {
  // Nothing leaked when the channel opened.
  private floor = 0;
  private previousFloor = 0;
  private windowStart: number;

  constructor(
    private readonly read: () => number,
    now: number,
    private readonly windowMs = 1000,
  ) {
    this.windowStart = now;
  }

  /** The channel's backlog at `now`: its bufferedAmount less the least it read in this window and the last. */
  backlog(now: number): number {
    const amount = this.read();
    if (now - this.windowStart >= this.windowMs) {
      this.previousFloor = this.floor;
      this.floor = Infinity;
      this.windowStart = now;
    }
    this.floor = Math.min(this.floor, amount);
    return amount - Math.min(this.floor, this.previousFloor);
  }
}
