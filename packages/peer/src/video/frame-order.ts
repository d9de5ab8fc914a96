/** Chunks held at once: past this the oldest gap is given up on at once. */
const MAX_HELD = 32;

/**
 * Puts a stream's chunks back in sequence for its decoder. On timely lanes a chunk can be
 * overtaken by later ones while SCTP retransmits it: a chunk that arrives ahead of a missing
 * one waits, at most `holdMs` from when the gap opened, for it to come. What is still missing
 * then is given up on, and the chunks after it go on, the player judging the gap (a lost frame
 * others depend on means waiting for a key frame). Chunks older than the
 * last released, or repeated, are dropped. Pure: the caller passes the time and arms a timer
 * for `deadline`.
 */
export class FrameOrder<T extends { readonly sequence: number }> {
  private next: number | undefined;
  private readonly held = new Map<number, T>();
  private gapSince: number | undefined;

  constructor(private readonly holdMs: number) {}

  /** Takes a chunk; returns the chunks now ready, in sequence. */
  push(chunk: T, now: number): T[] {
    if (this.next === undefined) this.next = chunk.sequence;
    const ahead = (chunk.sequence - this.next) | 0;
    if (ahead < 0) return [];
    if (ahead > 0) {
      this.held.set(chunk.sequence, chunk);
      this.gapSince ??= now;
      return this.held.size > MAX_HELD ? this.skipGap(now) : [];
    }
    const released: T[] = [chunk];
    this.next = (chunk.sequence + 1) >>> 0;
    this.releaseRun(released, now);
    return released;
  }

  /** The chunks whose wait for a missing one ran out by `now`, in sequence. */
  expire(now: number): T[] {
    const released: T[] = [];
    while (this.gapSince !== undefined && now >= this.gapSince + this.holdMs) released.push(...this.skipGap(now));
    return released;
  }

  /** When the current wait runs out, or undefined when nothing waits. */
  get deadline(): number | undefined {
    return this.gapSince === undefined ? undefined : this.gapSince + this.holdMs;
  }

  /** A new stream (its numbers start again): forgets everything. */
  reset(): void {
    this.next = undefined;
    this.held.clear();
    this.gapSince = undefined;
  }

  /** Gives up on what is missing before the first held chunk, and releases from there. */
  private skipGap(now: number): T[] {
    let first: number | undefined;
    for (const sequence of this.held.keys()) if (first === undefined || ((sequence - first) | 0) < 0) first = sequence;
    const chunk = this.held.get(first!)!;
    this.held.delete(first!);
    const released: T[] = [chunk];
    this.next = (first! + 1) >>> 0;
    this.releaseRun(released, now);
    return released;
  }

  /**
   * Releases the held chunks that follow on from `next`. Chunks still held behind another gap
   * have waited since the first gap opened: their wait goes on from then, not from now.
   */
  private releaseRun(released: T[], now: number): void {
    for (let chunk = this.held.get(this.next!); chunk !== undefined; chunk = this.held.get(this.next!)) {
      this.held.delete(chunk.sequence);
      released.push(chunk);
      this.next = (chunk.sequence + 1) >>> 0;
    }
    this.gapSince = this.held.size > 0 ? (this.gapSince ?? now) : undefined;
  }
}
