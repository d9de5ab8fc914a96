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
  for (const subscriber of subscribers) {
    const greedy = router.path(root, subscriber);
    let bestPath = greedy;
    let bestLatency = latencyOnceGrafted(tree, greedy, cost);
    for (const hop of greedy) {
      for (const neighbour of cube.neighbours(hop)) {
        if (!tree.subscribers.has(neighbour) || neighbour === subscriber) continue;
        const onward = router.path(neighbour, subscriber);
        const latency = latencyOnceGrafted(tree, onward, cost);
        if (latency < bestLatency) {
          bestLatency = latency;
          bestPath = onward;
        }
      }
    }
    tree.graft(bestPath, cost);
  }
  return tree;
}

/** The latency `graft(path)` would give the path's last node. */
export function latencyOnceGrafted(tree: MulticastTree, path: readonly LogicalId[], cost: LinkCost): number {
  const join = tree.joinIndex(path);
  let latency = tree.latency(path[join]!)!;
  for (let i = join + 1; i < path.length; i++) latency += cost(path[i - 1]!, path[i]!);
  return latency;
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
