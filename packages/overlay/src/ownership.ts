import type { Cube, LogicalId } from './cube.js';
import { CubeFullError, DuplicateHostError, InvalidArgumentError, UnknownHostError } from './errors.js';
import { grayId, grayRank } from './gray.js';
import { createRng, randomInt, type Rng } from './random.js';

/** A host's identity as the server knows it (its `hostId`). */
export type HostKey = string;

/** One id changing hands. `from` is null for an id that had no owner (the first join). */
export interface Move {
  readonly id: LogicalId;
  readonly from: HostKey | null;
  readonly to: HostKey | null;
}

const NO_OWNER = -1;

/**
 * Hosts grouped by how many ids they own, so a most- or least-loaded host is found in O(1),
 * and a random one too. Holds only settled hosts: a joining host enters once it has all its
 * ids, a leaving one is taken out before its ids go.
 */
class LoadIndex {
  private readonly buckets = new Map<number, number[]>();
  /** Per host index: its load, or -1 when not indexed; and its position in its bucket. */
  private readonly loadOf: number[] = [];
  private readonly position: number[] = [];
  private extremes = { min: Infinity, max: -Infinity };

  has(host: number): boolean {
    return (this.loadOf[host] ?? -1) >= 0;
  }

  set(host: number, load: number): void {
    this.delete(host);
    let bucket = this.buckets.get(load);
    if (!bucket) {
      this.buckets.set(load, (bucket = []));
      this.updateExtremes();
    }
    this.loadOf[host] = load;
    this.position[host] = bucket.length;
    bucket.push(host);
  }

  delete(host: number): void {
    const load = this.loadOf[host] ?? -1;
    if (load < 0) return;
    this.loadOf[host] = -1;
    const bucket = this.buckets.get(load)!;
    const last = bucket.pop()!;
    if (last !== host) {
      const at = this.position[host]!;
      bucket[at] = last;
      this.position[last] = at;
    }
    if (bucket.length === 0) {
      this.buckets.delete(load);
      this.updateExtremes();
    }
  }

  get max(): number {
    return this.extremes.max;
  }

  get min(): number {
    return this.extremes.min;
  }

  random(load: number, rng: Rng): number | undefined {
    const bucket = this.buckets.get(load);
    return bucket?.[randomInt(rng, bucket.length)];
  }

  // Loads stay within one of each other (two during an operation): few buckets to scan.
  private updateExtremes(): void {
    let min = Infinity;
    let max = -Infinity;
    for (const load of this.buckets.keys()) {
      if (load < min) min = load;
      if (load > max) max = load;
    }
    this.extremes = { min, max };
  }
}

/**
 * Which host owns which logical id. Invariants, kept by every operation:
 * - every id has exactly one owner while there is at least one host;
 * - balance: with m hosts each owns floor(M/m) or ceil(M/m) ids;
 * - clustering: a host's ids are near each other (a Gray-code run at first; joins and leaves
 *   take and give ids next to what a host already owns when balance allows).
 * Every mutation returns its moves, so a server can send deltas instead of the whole map.
 */
export class Ownership {
  readonly cube: Cube;
  private readonly owner: Int32Array;
  /** Position of each id inside its owner's `ids` list, for O(1) removal. */
  private readonly slot: Int32Array;
  private readonly ids: number[][] = [];
  private readonly keys: (HostKey | undefined)[] = [];
  private readonly index = new Map<HostKey, number>();
  private readonly freeIndices: number[] = [];
  private readonly loads = new LoadIndex();
  /** Visit marks for searches over the cube; `stamp` changes per search, so no clearing. */
  private readonly visited: Uint32Array;
  private stamp = 0;
  /** Picks which most-loaded host a join starts from; seeded, so runs repeat. */
  private readonly rng: Rng;
  /** Scratch for `bestNeighbour`: owners of an id's neighbours and how many each owns. */
  private readonly nearOwners: number[] = [];
  private readonly nearCounts: number[] = [];

  private constructor(cube: Cube, seed: number) {
    this.cube = cube;
    this.rng = createRng(seed);
    this.owner = new Int32Array(cube.size).fill(NO_OWNER);
    this.slot = new Int32Array(cube.size);
    this.visited = new Uint32Array(cube.size);
  }

  /**
   * The clustered initial layout: the Gray-code walk of the cube cut into m runs, the first
   * `M mod m` of them one longer.
   */
  static create(cube: Cube, hosts: readonly HostKey[], seed = 0): Ownership {
    const ownership = new Ownership(cube, seed);
    const m = hosts.length;
    if (m > cube.size) {
      throw new CubeFullError(`${m} hosts do not fit the ${cube} (${cube.size} ids)`);
    }
    if (m === 0) return ownership;
    const base = Math.floor(cube.size / m);
    const longer = cube.size % m;
    let rank = 0;
    hosts.forEach((key, i) => {
      const host = ownership.addHost(key);
      const load = base + (i < longer ? 1 : 0);
      for (let j = 0; j < load; j++) ownership.assign(grayId(cube, rank++), host);
      ownership.loads.set(host, load);
    });
    return ownership;
  }

  /**
   * An ownership as it was saved: `owners[id]` is the index in `hosts` of the id's owner.
   * Every id must have an owner and every host at least one id, as in any ownership the
   * other methods leave behind; anything else is refused, not repaired.
   */
  static restore(cube: Cube, hosts: readonly HostKey[], owners: ArrayLike<number>, seed = 0): Ownership {
    if (owners.length !== cube.size) throw new InvalidArgumentError(`${owners.length} owners for the ${cube.size} ids of the ${cube}`);
    const ownership = new Ownership(cube, seed);
    for (const key of hosts) ownership.addHost(key);
    for (let id = 0; id < cube.size; id++) {
      const host = owners[id]!;
      if (!Number.isInteger(host) || host < 0 || host >= hosts.length) throw new InvalidArgumentError(`id ${id} has no owner among the ${hosts.length} hosts`);
      ownership.assign(id, host);
    }
    for (let host = 0; host < hosts.length; host++) {
      const load = ownership.ids[host]!.length;
      if (load === 0) throw new InvalidArgumentError(`host ${hosts[host]} owns no id`);
      ownership.loads.set(host, load);
    }
    return ownership;
  }

  get hostCount(): number {
    return this.index.size;
  }

  hosts(): HostKey[] {
    return [...this.index.keys()];
  }

  has(host: HostKey): boolean {
    return this.index.has(host);
  }

  ownerOf(id: LogicalId): HostKey | undefined {
    const host = this.owner[id];
    return host === undefined || host === NO_OWNER ? undefined : this.keys[host];
  }

  idsOf(host: HostKey): readonly LogicalId[] {
    return this.ids[this.hostIndex(host)]!;
  }

  loadRange(): { min: number; max: number } {
    return this.hostCount === 0 ? { min: 0, max: 0 } : { min: this.loads.min, max: this.loads.max };
  }

  /**
   * A host joins and takes floor(M/(m+1)) ids, one at a time, each from a host whose load is
   * the current maximum: that is the fewest moves that restore balance. It grows as a ball:
   * ids are visited in breadth-first order from an edge id of a most-loaded host, so what it
   * takes is as close together as the balance allows. The start is a random most-loaded
   * host: always taking the oldest would hollow out one region, and each later join would
   * have to search further for hosts with ids to spare.
   */
  join(key: HostKey): Move[] {
    if (this.index.has(key)) throw new DuplicateHostError(`host ${key} already owns ids`);
    const m = this.hostCount;
    if (m + 1 > this.cube.size) {
      throw new CubeFullError(`the ${this.cube} has ${this.cube.size} ids and cannot take host ${m + 1}`);
    }
    const host = this.addHost(key);
    const moves: Move[] = [];
    if (m === 0) {
      for (let id = 0; id < this.cube.size; id++) {
        this.assign(id, host);
        moves.push({ id, from: null, to: key });
      }
      this.loads.set(host, this.cube.size);
      return moves;
    }

    const need = Math.floor(this.cube.size / (m + 1));
    const seedHost = this.loads.random(this.loads.max, this.rng)!;
    const seed = this.edgeId(seedHost);
    // Breadth-first from the seed. Ids whose owner is not at the maximum load are deferred,
    // not dropped: once every most-loaded host has given one, the maximum falls and they
    // become the nearest candidates.
    let queue = [seed];
    let head = 0;
    let deferred: number[] = [];
    let maxLoad = this.loads.max;
    this.visited[seed] = ++this.stamp;
    while (moves.length < need) {
      if (this.loads.max !== maxLoad) {
        maxLoad = this.loads.max;
        queue = deferred.concat(queue.slice(head));
        head = 0;
        deferred = [];
      }
      const id = queue[head++];
      if (id === undefined) throw new Error('ownership invariant broken: no most-loaded host found');
      const from = this.owner[id]!;
      if (this.ids[from]!.length === maxLoad) {
        this.transfer(id, host);
        moves.push({ id, from: this.keys[from]!, to: key });
      } else {
        deferred.push(id);
      }
      this.enqueueNeighbours(id, queue);
    }
    this.loads.set(host, need);
    return moves;
  }

  /**
   * A host leaves; each of its ids goes to a least-loaded host, preferring one that owns a
   * neighbour of that id (the one owning most of them), else the least-loaded host nearest in
   * the cube. One move per id: the minimum.
   */
  leave(key: HostKey): Move[] {
    const host = this.hostIndex(key);
    const leaving = [...this.ids[host]!];
    this.loads.delete(host);
    const moves: Move[] = [];
    const last = this.hostCount === 1;
    for (const id of leaving) {
      const to = last ? NO_OWNER : this.recipientFor(id, host);
      this.transfer(id, to);
      moves.push({ id, from: key, to: to === NO_OWNER ? null : this.keys[to]! });
    }
    this.removeHost(key, host);
    return moves;
  }

  /**
   * Hosts that leave together (a mass disconnect): all their ids are orphaned at once, then
   * handed out in one pass that grows the remaining hosts' regions into the orphaned ones,
   * each id to the neighbouring owner (most neighbours first) that has room under the new
   * balance, and what no neighbour can take to the nearest host with room. One move per id,
   * as with `leave`; unlike a `leave` per host, no search runs per id for a least-loaded host,
   * which costs a mass leave of thousands of hosts seconds.
   */
  leaveMany(keys: readonly HostKey[]): Move[] {
    if (keys.length === 1) return this.leave(keys[0]!);
    const leavers = [...new Set(keys)].map((key) => [key, this.hostIndex(key)] as const);
    const orphans: LogicalId[] = [];
    const formerOwner = new Map<LogicalId, HostKey>();
    for (const [key, host] of leavers) {
      for (const id of this.ids[host]!) {
        orphans.push(id);
        formerOwner.set(id, key);
        this.owner[id] = NO_OWNER;
      }
      this.ids[host] = [];
      this.loads.delete(host);
      this.removeHost(key, host);
    }
    const moveOf = (id: LogicalId, to: number): Move => ({ id, from: formerOwner.get(id)!, to: to === NO_OWNER ? null : this.keys[to]! });
    if (this.hostCount === 0) return orphans.map((id) => moveOf(id, NO_OWNER));
    // The balance after: every host owns `base` ids, `extra` of them one more.
    const base = Math.floor(this.cube.size / this.hostCount);
    let extra = this.cube.size % this.hostCount;
    for (const host of this.index.values()) if (this.ids[host]!.length > base) extra--;
    const hasRoom = (host: number) => this.ids[host]!.length < base || (this.ids[host]!.length === base && extra > 0);
    const give = (id: LogicalId, host: number) => {
      if (this.ids[host]!.length === base) extra--;
      this.assign(id, host);
      this.loads.set(host, this.ids[host]!.length);
    };
    const moves: Move[] = [];
    // Orphans are tried in order. One that no neighbouring host with room can take waits: a
    // host's room only shrinks, so it is tried again only once a neighbour of it has been
    // given to a host (which may have room). Repeated passes over every orphan left cost
    // 300 ms for 9336 of 15000 hosts leaving, where a region took hundreds of passes to fill.
    const queue = [...orphans];
    // In the order they first waited; placed ones are skipped, so `firstWaiting` only moves on.
    const waiting: LogicalId[] = [];
    let firstWaiting = 0;
    const place = (id: LogicalId, to: number) => {
      give(id, to);
      moves.push(moveOf(id, to));
      for (let i = 0; i < this.cube.degree; i++) {
        const neighbour = this.cube.neighbourAt(id, i);
        if (this.owner[neighbour] === NO_OWNER) queue.push(neighbour);
      }
    };
    let head = 0;
    while (moves.length < orphans.length) {
      if (head === queue.length) {
        // No orphan borders a host with room: the first waiting goes to the nearest one, and
        // the region grows from there.
        while (this.owner[waiting[firstWaiting]!] !== NO_OWNER) firstWaiting++;
        const id = waiting[firstWaiting]!;
        place(id, this.nearest(id, hasRoom));
        continue;
      }
      const id = queue[head++]!;
      if (this.owner[id] !== NO_OWNER) continue;
      const to = this.bestNeighbour(id, hasRoom);
      if (to === NO_OWNER) waiting.push(id);
      else place(id, to);
    }
    return moves;
  }

  /** Exchange the owners of two ids (an adaptive re-assignment). Loads do not change. */
  swap(a: LogicalId, b: LogicalId): Move[] {
    this.cube.assertId(a);
    this.cube.assertId(b);
    const ha = this.owner[a]!;
    const hb = this.owner[b]!;
    if (ha === NO_OWNER || hb === NO_OWNER) throw new InvalidArgumentError('cannot swap an id that has no owner');
    if (ha === hb) return [];
    this.transfer(a, hb);
    this.transfer(b, ha);
    return [
      { id: a, from: this.keys[ha]!, to: this.keys[hb]! },
      { id: b, from: this.keys[hb]!, to: this.keys[ha]! },
    ];
  }

  /**
   * The same hosts laid out in another cube. Hosts keep their relative order along the Gray
   * walk, so hosts that were near each other stay near each other.
   */
  reembed(cube: Cube, seed = 0): Ownership {
    const firstRank = (key: HostKey) => {
      let rank = Infinity;
      for (const id of this.idsOf(key)) rank = Math.min(rank, grayRank(this.cube, id));
      return rank;
    };
    const order = this.hosts()
      .map((key) => ({ key, rank: firstRank(key) }))
      .sort((a, b) => a.rank - b.rank)
      .map((h) => h.key);
    return Ownership.create(cube, order, seed);
  }

  /**
   * The host's neighbour table: for every cube neighbour of its ids that another host owns,
   * that owner.
   */
  neighbourTable(key: HostKey): Map<LogicalId, HostKey> {
    const host = this.hostIndex(key);
    const { cube } = this;
    const table = new Map<LogicalId, HostKey>();
    for (const id of this.ids[host]!) {
      for (let i = 0; i < cube.degree; i++) {
        const neighbour = cube.neighbourAt(id, i);
        const owner = this.owner[neighbour]!;
        if (owner !== host && owner !== NO_OWNER) table.set(neighbour, this.keys[owner]!);
      }
    }
    return table;
  }

  /** Hosts this host must hold a connection to: owners of a neighbour of one of its ids. */
  linkedHosts(key: HostKey): Set<HostKey> {
    return new Set(this.neighbourTable(key).values());
  }

  /** Largest hop distance between two ids of the host: 0 for one id, load-1 for a path. */
  spread(key: HostKey): number {
    const ids = this.idsOf(key);
    let worst = 0;
    for (let i = 0; i < ids.length; i++) {
      for (let j = i + 1; j < ids.length; j++) worst = Math.max(worst, this.cube.hopDistance(ids[i]!, ids[j]!));
    }
    return worst;
  }

  private hostIndex(key: HostKey): number {
    const host = this.index.get(key);
    if (host === undefined) throw new UnknownHostError(`host ${key} owns no ids here`);
    return host;
  }

  private addHost(key: HostKey): number {
    if (this.index.has(key)) throw new DuplicateHostError(`host ${key} is listed twice`);
    const host = this.freeIndices.pop() ?? this.ids.length;
    this.ids[host] = [];
    this.keys[host] = key;
    this.index.set(key, host);
    return host;
  }

  private removeHost(key: HostKey, host: number): void {
    this.index.delete(key);
    this.keys[host] = undefined;
    this.freeIndices.push(host);
  }

  /** Give an unowned id to a host (no load bookkeeping: callers set loads in bulk). */
  private assign(id: LogicalId, host: number): void {
    const list = this.ids[host]!;
    this.owner[id] = host;
    this.slot[id] = list.length;
    list.push(id);
  }

  private transfer(id: LogicalId, to: number): void {
    const from = this.owner[id]!;
    const list = this.ids[from]!;
    const at = this.slot[id]!;
    const lastId = list.pop()!;
    if (lastId !== id) {
      list[at] = lastId;
      this.slot[lastId] = at;
    }
    if (this.loads.has(from)) this.loads.set(from, list.length);
    if (to === NO_OWNER) {
      this.owner[id] = NO_OWNER;
      return;
    }
    this.assign(id, to);
    if (this.loads.has(to)) this.loads.set(to, this.ids[to]!.length);
  }

  /** Of a host's ids, one with the fewest neighbours of its own: taking it keeps the rest together. */
  private edgeId(host: number): LogicalId {
    let best = -1;
    let bestOwn = Infinity;
    const { cube } = this;
    for (const id of this.ids[host]!) {
      let own = 0;
      for (let i = 0; i < cube.degree; i++) if (this.owner[cube.neighbourAt(id, i)] === host) own++;
      if (own < bestOwn) {
        best = id;
        bestOwn = own;
      }
    }
    return best;
  }

  private enqueueNeighbours(id: LogicalId, queue: number[]): void {
    const { cube } = this;
    for (let i = 0; i < cube.degree; i++) {
      const neighbour = cube.neighbourAt(id, i);
      if (this.visited[neighbour] !== this.stamp) {
        this.visited[neighbour] = this.stamp;
        queue.push(neighbour);
      }
    }
  }

  /** Of the hosts owning a neighbour of `id` that `takes` accepts, the one owning most of them. */
  private bestNeighbour(id: LogicalId, takes: (host: number) => boolean): number {
    const { cube, nearOwners, nearCounts } = this;
    let best = NO_OWNER;
    let bestCount = 0;
    nearOwners.length = 0;
    nearCounts.length = 0;
    for (let i = 0; i < cube.degree; i++) {
      const owner = this.owner[cube.neighbourAt(id, i)]!;
      if (owner === NO_OWNER || !takes(owner)) continue;
      let at = nearOwners.indexOf(owner);
      if (at < 0) {
        at = nearOwners.push(owner) - 1;
        nearCounts.push(0);
      }
      const count = ++nearCounts[at]!;
      if (count > bestCount) {
        best = owner;
        bestCount = count;
      }
    }
    return best;
  }

  /** The host `takes` accepts owning the id nearest to `id` (breadth-first over the cube). */
  private nearest(id: LogicalId, takes: (host: number) => boolean): number {
    const queue = [id];
    this.visited[id] = ++this.stamp;
    for (let head = 0; head < queue.length; head++) {
      const at = queue[head]!;
      const owner = this.owner[at]!;
      if (owner !== NO_OWNER && takes(owner)) return owner;
      this.enqueueNeighbours(at, queue);
    }
    throw new Error('ownership invariant broken: no host can take the id');
  }

  /** Where a leaver's id goes (see `leave`): a least-loaded host, owning its neighbours if one does. */
  private recipientFor(id: LogicalId, leaver: number): number {
    const minLoad = this.loads.min;
    const takes = (host: number) => host !== leaver && this.ids[host]!.length === minLoad;
    const near = this.bestNeighbour(id, takes);
    return near !== NO_OWNER ? near : this.nearest(id, takes);
  }
}
