import type { Cube, LogicalId } from './cube.js';
import type { LinkCost, Router } from './routing.js';

/**
 * A channel's multicast tree over logical ids: the union of its subscribers' routes from the
 * publisher's anchor id, kept a tree so every node receives a chunk once. A route joins the
 * tree at its last node already on it and adds only the nodes after that one; reaching that
 * node along the tree takes the same hop count as along the route (both are minimal routes
 * from the root), so the route stays minimal, and nothing is added that leads nowhere.
 */
export class MulticastTree {
  readonly root: LogicalId;
  private readonly parentOf = new Map<LogicalId, LogicalId>();
  private readonly childrenOf = new Map<LogicalId, LogicalId[]>();
  private readonly latencyOf = new Map<LogicalId, number>();
  private readonly hopsOf = new Map<LogicalId, number>();
  private readonly subscriberSet = new Set<LogicalId>();

  constructor(root: LogicalId) {
    this.root = root;
    this.latencyOf.set(root, 0);
    this.hopsOf.set(root, 0);
  }

  has(id: LogicalId): boolean {
    return this.latencyOf.has(id);
  }

  parent(id: LogicalId): LogicalId | undefined {
    return this.parentOf.get(id);
  }

  children(id: LogicalId): readonly LogicalId[] {
    return this.childrenOf.get(id) ?? [];
  }

  /** Latency from the root along the tree (sum of link costs), undefined off the tree. */
  latency(id: LogicalId): number | undefined {
    return this.latencyOf.get(id);
  }

  hops(id: LogicalId): number | undefined {
    return this.hopsOf.get(id);
  }

  get subscribers(): ReadonlySet<LogicalId> {
    return this.subscriberSet;
  }

  nodes(): IterableIterator<LogicalId> {
    return this.latencyOf.keys();
  }

  /** Parent-child edges of the tree. */
  *edges(): IterableIterator<[LogicalId, LogicalId]> {
    for (const [child, parent] of this.parentOf) yield [parent, child];
  }

  /** The tree path from the root to `id`, both included. */
  pathTo(id: LogicalId): LogicalId[] {
    if (!this.has(id)) throw new RangeError(`${id} is not on the tree`);
    const path = [id];
    for (let at = this.parentOf.get(id); at !== undefined; at = this.parentOf.get(at)) path.push(at);
    return path.reverse();
  }

  /** Index of the last node of `path` already on the tree: where the path joins it. */
  joinIndex(path: readonly LogicalId[]): number {
    for (let i = path.length - 1; i >= 0; i--) if (this.has(path[i]!)) return i;
    throw new RangeError('a grafted path must start on the tree');
  }

  /** Graft a route onto the tree: the nodes after its join point hang off that point. */
  graft(path: readonly LogicalId[], cost: LinkCost): void {
    for (let i = this.joinIndex(path) + 1; i < path.length; i++) {
      const from = path[i - 1]!;
      const to = path[i]!;
      this.parentOf.set(to, from);
      let children = this.childrenOf.get(from);
      if (!children) this.childrenOf.set(from, (children = []));
      children.push(to);
      this.latencyOf.set(to, this.latencyOf.get(from)! + cost(from, to));
      this.hopsOf.set(to, this.hopsOf.get(from)! + 1);
    }
    this.subscriberSet.add(path[path.length - 1]!);
  }
}

/** The union of the routes from `root` to each subscriber, in the order given. */
export function buildTree(
  router: Router,
  root: LogicalId,
  subscribers: Iterable<LogicalId>,
  cost: LinkCost,
): MulticastTree {
  const tree = new MulticastTree(root);
  for (const subscriber of subscribers) tree.graft(router.path(root, subscriber), cost);
  return tree;
}

/**
 * The slides' split-based greedy: route a subscriber greedily, but at each hop look at the
 * neighbours already on the tree as subscribers; if reaching the subscriber through one of
 * them (its tree latency plus a greedy route onward) is faster than the pure greedy route,
 * branch from there. Routes may then be longer than minimal in hops.
 */
export function buildSplitGreedyTree(
  router: Router,
  root: LogicalId,
  subscribers: Iterable<LogicalId>,
  cost: LinkCost,
): MulticastTree {
  if (router.policy !== 'greedy') throw new RangeError('split-based greedy needs a greedy router');
  const cube: Cube = router.cube;
  const tree = new MulticastTree(root);
  const routes = new RoutesToward(router, tree, cost);
  for (const subscriber of subscribers) {
    const beside = onlyBestNeighbour(tree, cube, cost, root, subscriber);
    if (beside !== undefined) {
      tree.graft(beside === subscriber ? [subscriber] : [beside, subscriber], cost);
      continue;
    }
    routes.toward(subscriber);
    let best = root;
    let bestLatency = routes.latencyVia(root);
    for (const hop of routes.path(root)) {
      for (let i = 0; i < cube.degree; i++) {
        const neighbour = cube.neighbourAt(hop, i);
        if (!tree.subscribers.has(neighbour) || neighbour === subscriber) continue;
        const latency = routes.latencyVia(neighbour);
        if (latency < bestLatency) {
          bestLatency = latency;
          best = neighbour;
        }
      }
    }
    tree.graft(routes.path(best), cost);
  }
  return tree;
}

/**
 * Where the search above must end, when that is known without it. Every route ends at the
 * subscriber through one of its neighbours. Through a neighbour on the tree, the latency it
 * gives once grafted is that neighbour's tree latency plus its link to the subscriber,
 * whatever came before. Through one off the tree, the route came from one of that
 * neighbour's own neighbours; when they are all on the tree, the least such value bounds
 * those routes exactly. When the best neighbour on the tree is a candidate (a subscriber or
 * the root) and gives strictly less than any other neighbour and any bound, the search would
 * pick a route ending through it, which grafts the subscriber onto it, as grafting
 * `[neighbour, subscriber]` does. On a dense tree (a large group) this is most subscribers,
 * and it spares the walk of a route from each of a hundred-odd candidates. The subscriber
 * itself on the tree (as a relay) gives `subscriber`: every route joins there and nothing is
 * added. Otherwise undefined. Sums are formed as the search forms them, so ties are ties.
 */
function onlyBestNeighbour(tree: MulticastTree, cube: Cube, cost: LinkCost, root: LogicalId, subscriber: LogicalId): LogicalId | undefined {
  if (tree.has(subscriber)) return subscriber;
  let best: LogicalId | undefined;
  let bestLatency = Infinity;
  let tied = false;
  const offTree: LogicalId[] = [];
  for (let i = 0; i < cube.degree; i++) {
    const neighbour = cube.neighbourAt(subscriber, i);
    const onTree = tree.latency(neighbour);
    if (onTree === undefined) {
      offTree.push(neighbour);
      continue;
    }
    const latency = onTree + cost(neighbour, subscriber);
    if (latency < bestLatency) {
      bestLatency = latency;
      best = neighbour;
      tied = false;
    } else if (latency === bestLatency) tied = true;
  }
  if (tied || best === undefined || (best !== root && !tree.subscribers.has(best))) return undefined;
  for (const through of offTree) {
    const last = cost(through, subscriber);
    for (let i = 0; i < cube.degree; i++) {
      const before = cube.neighbourAt(through, i);
      if (before === subscriber) continue;
      const onTree = tree.latency(before);
      if (onTree === undefined || onTree + (cost(before, through) + last) <= bestLatency) return undefined;
    }
  }
  return best;
}

/**
 * The greedy routes toward one subscriber, and what each would give it once grafted. A greedy
 * next hop depends on where it is and where it goes only, so the routes from the neighbours of
 * the subscriber's own route share their tails: each node's next hop, its cost onward and the
 * latency via its route are worked out once per subscriber (stamped arrays: forgetting them
 * is one increment). The tree does not change while one subscriber's routes are compared.
 */
class RoutesToward {
  /** Cubes larger than this would need arrays too large to keep for one tree. */
  static readonly MAX_NODES = 2 ** 22;
  private readonly next: Int32Array;
  /** Cost from the node to the subscriber along its route. */
  private readonly onward: Float64Array;
  /** The latency the subscriber gets through the node's route once grafted; NaN when no node of it is on the tree. */
  private readonly via: Float64Array;
  private readonly stamps: Uint32Array;
  private stamp = 0;
  private subscriber = -1;
  private readonly walked: LogicalId[] = [];

  constructor(
    private readonly router: Router,
    private readonly tree: MulticastTree,
    private readonly cost: LinkCost,
  ) {
    const { size } = router.cube;
    if (size > RoutesToward.MAX_NODES) throw new RangeError(`split-based greedy trees are built on cubes of up to ${RoutesToward.MAX_NODES} nodes, not ${size}`);
    this.next = new Int32Array(size);
    this.onward = new Float64Array(size);
    this.via = new Float64Array(size);
    this.stamps = new Uint32Array(size);
  }

  toward(subscriber: LogicalId): void {
    this.subscriber = subscriber;
    this.stamp++;
  }

  /**
   * The latency the subscriber would get grafted by the route from `from`: the tree's latency
   * at the route's last node on the tree, plus the route onward from there.
   */
  latencyVia(from: LogicalId): number {
    const { stamps, stamp, walked } = this;
    walked.length = 0;
    let at = from;
    while (stamps[at] !== stamp && at !== this.subscriber) {
      walked.push(at);
      at = this.router.nextHop(at, this.subscriber, from)!;
    }
    if (stamps[at] !== stamp) {
      // The subscriber itself: nothing onward.
      stamps[at] = stamp;
      this.next[at] = -1;
      this.onward[at] = 0;
      this.via[at] = this.tree.latency(at) ?? NaN;
    }
    // Back from where the walk met known ground: the last node on the tree is the join.
    for (let i = walked.length - 1; i >= 0; i--) {
      const node = walked[i]!;
      const onward = this.cost(node, at) + this.onward[at]!;
      stamps[node] = stamp;
      this.next[node] = at;
      this.onward[node] = onward;
      const joined = this.via[at]!;
      this.via[node] = !Number.isNaN(joined) ? joined : this.tree.has(node) ? this.tree.latency(node)! + onward : NaN;
      at = node;
    }
    return this.via[from]!;
  }

  /** The route from `from` (whose latency was asked for) to the subscriber. */
  path(from: LogicalId): LogicalId[] {
    const path = [from];
    for (let at = this.next[from]!; at >= 0; at = this.next[at]!) path.push(at);
    return path;
  }
}

/**
 * Host-level forwarding: for each host, the hosts it sends each chunk to. A host sends one copy
 * per next-hop host, however many tree edges or subscribers lie behind it; hops between ids
 * of one host cost nothing and send nothing. A host whose ids hang off two different hosts
 * hears the channel from both, so receivers drop duplicates by sequence number.
 */
export function forwardingSets<H>(tree: MulticastTree, ownerOf: (id: LogicalId) => H): Map<H, Set<H>> {
  const sets = new Map<H, Set<H>>();
  for (const [parent, child] of tree.edges()) {
    const from = ownerOf(parent);
    const to = ownerOf(child);
    if (from === to) continue;
    let set = sets.get(from);
    if (!set) sets.set(from, (set = new Set()));
    set.add(to);
  }
  return sets;
}
