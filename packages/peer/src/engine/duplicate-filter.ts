/**
 * Sequence numbers (with fragment index) recently seen: a ring of the last `size` keys, so
 * each message costs O(1) on the data plane.
 */
class RecentKeys {
  private readonly ring: Float64Array;
  private readonly set = new Set<number>();
  private next = 0;
  constructor(private readonly size: number) {
    this.ring = new Float64Array(size).fill(-1);
  }
  /** True if new (and now remembered). */
  add(key: number): boolean {
    if (this.set.has(key)) return false;
    const evicted = this.ring[this.next]!;
    if (evicted >= 0) this.set.delete(evicted);
    this.ring[this.next] = key;
    this.next = (this.next + 1) % this.size;
    this.set.add(key);
    return true;
  }
}

export interface DuplicateFilterLimits {
  /** Keys remembered per window: repeats further apart than this many messages pass. */
  readonly windowKeys: number;
  /**
   * Windows (64 KiB each and a set) one channel, and this host in all, may keep: a linked peer
   * that invents variants gets its messages dropped, not a window each.
   */
  readonly windowsPerChannel: number;
  readonly windows: number;
}

export const DEFAULT_DUPLICATE_FILTER_LIMITS: DuplicateFilterLimits = { windowKeys: 8192, windowsPerChannel: 16, windows: 128 };

/**
 * Drops the second copy of a message: a host whose ids hang off two parents hears a chunk from
 * both. One window per channel and variant.
 */
export class DuplicateFilter {
  private readonly seen = new Map<number, Map<number, RecentKeys>>();
  private windowCount = 0;

  constructor(private readonly limits: DuplicateFilterLimits = DEFAULT_DUPLICATE_FILTER_LIMITS) {}

  /** True for the first copy of a fragment (now remembered); false for a repeat, or past the bounds. */
  isFirstCopy(channel: number, variant: number, sequence: number, fragment: number): boolean {
    let variants = this.seen.get(channel);
    if (!variants) this.seen.set(channel, (variants = new Map()));
    let recent = variants.get(variant);
    if (!recent) {
      if (variants.size >= this.limits.windowsPerChannel || this.windowCount >= this.limits.windows) return false;
      variants.set(variant, (recent = new RecentKeys(this.limits.windowKeys)));
      this.windowCount++;
    }
    return recent.add(sequence * 256 + fragment);
  }

  forgetChannel(channel: number): void {
    this.windowCount -= this.seen.get(channel)?.size ?? 0;
    this.seen.delete(channel);
  }

  channels(): IterableIterator<number> {
    return this.seen.keys();
  }

  /** Windows held now. */
  get windows(): number {
    return this.windowCount;
  }
}
