/** Where a subscription's route leaves this host. */
export interface Branch {
  readonly nextHost: string;
  /** The variant the subscription wants: what must reach it down this branch. */
  readonly variant: number;
  /** The subscription's latency bound: timely data later than this is of no use down here. */
  readonly maxLatencyMs: number;
  readonly expiresAt: number;
}

/** A subscription whose route ends here, and the variant it wants. */
export interface LocalRoute {
  readonly variant: number;
  readonly expiresAt: number;
}

/** A channel's unexpired routes, digested for the data plane. */
export interface ChannelDemand {
  /** next host -> the variants its branches want. */
  readonly next: ReadonlyMap<string, ReadonlySet<number>>;
  /** next host -> the loosest latency bound of its branches (ms). */
  readonly boundMs: ReadonlyMap<string, number>;
  /** The variants routes ending here want. */
  readonly local: ReadonlySet<number>;
  /** The digest holds until the first of its entries expires. */
  readonly validUntil: number;
}

/**
 * The soft state route setups leave at a host: per channel and subscription, the branch its
 * route takes from here, or that it ends here. Entries expire unless refreshed. The data
 * plane reads a per-channel digest for every message; it is cached, dropped whenever the
 * channel's entries change, and recomputed when one expires.
 */
export class RouteTable {
  private readonly branches = new Map<number, Map<string, Branch>>();
  private readonly local = new Map<number, Map<string, LocalRoute>>();
  private readonly cache = new Map<number, ChannelDemand>();

  /** Records a subscription's branch, or (undefined: a prune) removes it. */
  setBranch(channel: number, subscriptionId: string, branch: Branch | undefined): void {
    this.set(this.branches, channel, subscriptionId, branch);
  }

  /** Records that a subscription's route ends here, or (undefined: a prune) that it no longer does. */
  setLocal(channel: number, subscriptionId: string, route: LocalRoute | undefined): void {
    this.set(this.local, channel, subscriptionId, route);
  }

  private set<T>(tables: Map<number, Map<string, T>>, channel: number, subscriptionId: string, entry: T | undefined): void {
    let table = tables.get(channel);
    if (!table) tables.set(channel, (table = new Map()));
    if (entry === undefined) table.delete(subscriptionId);
    else table.set(subscriptionId, entry);
    this.cache.delete(channel);
  }

  demand(channel: number, now: number): ChannelDemand {
    const cached = this.cache.get(channel);
    if (cached && now <= cached.validUntil) return cached;
    let validUntil = Infinity;
    const next = new Map<string, Set<number>>();
    const boundMs = new Map<string, number>();
    for (const branch of this.branches.get(channel)?.values() ?? []) {
      if (branch.expiresAt < now) continue;
      validUntil = Math.min(validUntil, branch.expiresAt);
      let variants = next.get(branch.nextHost);
      if (!variants) next.set(branch.nextHost, (variants = new Set()));
      variants.add(branch.variant);
      boundMs.set(branch.nextHost, Math.max(boundMs.get(branch.nextHost) ?? 0, branch.maxLatencyMs));
    }
    const local = new Set<number>();
    for (const entry of this.local.get(channel)?.values() ?? []) {
      if (entry.expiresAt < now) continue;
      validUntil = Math.min(validUntil, entry.expiresAt);
      local.add(entry.variant);
    }
    const demand = { next, boundMs, local, validUntil };
    this.cache.set(channel, demand);
    return demand;
  }

  /** Removes expired entries (the digest already ignores them; this frees them). */
  expire(now: number): void {
    for (const tables of [this.branches, this.local]) {
      for (const table of tables.values()) {
        for (const [id, entry] of table) if (entry.expiresAt < now) table.delete(id);
      }
    }
  }

  /** Drops the branches toward hosts for which `drop` holds: a link that failed, or a host no longer a neighbour. */
  dropBranchesWhere(drop: (nextHost: string) => boolean): void {
    for (const table of this.branches.values()) {
      for (const [id, branch] of table) if (drop(branch.nextHost)) table.delete(id);
    }
    this.cache.clear();
  }

  /** Forgets a channel's branches (it is no longer published here), or everything about it too. */
  forgetChannel(channel: number, what: 'branches' | 'all' = 'all'): void {
    this.branches.delete(channel);
    if (what === 'all') this.local.delete(channel);
    this.cache.delete(channel);
  }

  /** Channels with branches from here. */
  branchChannels(): IterableIterator<number> {
    return this.branches.keys();
  }

  /** Channels with any entry here. */
  channels(): Set<number> {
    return new Set([...this.branches.keys(), ...this.local.keys()]);
  }

  /** Every variant some entry wants. */
  variants(): Set<number> {
    const used = new Set<number>();
    for (const tables of [this.branches, this.local]) for (const table of tables.values()) for (const entry of table.values()) used.add(entry.variant);
    return used;
  }
}
