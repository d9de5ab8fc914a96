import type { Underlay } from './transit-stub.js';

/**
 * Shortest-path delays between routers, one Dijkstra row per source router, computed the
 * first time an experiment asks for it and kept. A full table for 5050 routers is 102 MB of
 * Float32 rows; experiments that touch few sources pay for few rows. Predecessor rows (for
 * walking physical paths) are kept only for sources whose paths were asked for.
 */
export class RouterDistances {
  private readonly rows: (Float32Array | undefined)[];
  private readonly parents: (Int32Array | undefined)[];
  private readonly heapKeys: Float64Array;
  private readonly heapNodes: Int32Array;
  private readonly settled: Uint8Array;
  private rowsComputed = 0;

  constructor(readonly underlay: Underlay) {
    this.rows = new Array(underlay.routerCount);
    this.parents = new Array(underlay.routerCount);
    // Lazy deletion pushes once per relaxation: the heap never holds more than one entry per
    // directed edge plus the source.
    this.heapKeys = new Float64Array(underlay.targets.length + 1);
    this.heapNodes = new Int32Array(underlay.targets.length + 1);
    this.settled = new Uint8Array(underlay.routerCount);
  }

  /** Dijkstra runs so far: what laziness saved is `routerCount - computedRows`. */
  get computedRows(): number {
    return this.rowsComputed;
  }

  /** Delays from `source` to every router, in ms. */
  row(source: number): Float32Array {
    return this.rows[source] ?? this.compute(source, false);
  }

  /** The delay between two routers: from either's row if one is known (links are symmetric). */
  distance(a: number, b: number): number {
    const rowA = this.rows[a];
    if (rowA) return rowA[b]!;
    const rowB = this.rows[b];
    if (rowB) return rowB[a]!;
    return this.compute(a, false)[b]!;
  }

  /**
   * Calls `visit(x, y)` for each router link of a shortest path from `a` to `b`, in order.
   * Ties between equal-delay paths go to whichever Dijkstra settled first; delays are drawn
   * from continuous ranges, so ties have probability zero.
   */
  forEachLink(a: number, b: number, visit: (x: number, y: number) => void): void {
    if (!this.parents[a]) this.compute(a, true);
    const parent = this.parents[a]!;
    for (let at = b; at !== a; ) {
      const up = parent[at]!;
      visit(up, at);
      at = up;
    }
  }

  private compute(source: number, withParents: boolean): Float32Array {
    const { routerCount, offsets, targets, delays } = this.underlay;
    const dist = new Float64Array(routerCount).fill(Infinity);
    const parent = withParents ? new Int32Array(routerCount).fill(-1) : undefined;
    const settled = this.settled.fill(0);
    const keys = this.heapKeys;
    const nodes = this.heapNodes;
    let size = 0;
    const push = (key: number, node: number) => {
      let i = size++;
      while (i > 0) {
        const up = (i - 1) >> 1;
        if (keys[up]! <= key) break;
        keys[i] = keys[up]!;
        nodes[i] = nodes[up]!;
        i = up;
      }
      keys[i] = key;
      nodes[i] = node;
    };
    const pop = () => {
      const top = nodes[0]!;
      const lastKey = keys[--size]!;
      const lastNode = nodes[size]!;
      let i = 0;
      for (;;) {
        let child = 2 * i + 1;
        if (child >= size) break;
        if (child + 1 < size && keys[child + 1]! < keys[child]!) child++;
        if (keys[child]! >= lastKey) break;
        keys[i] = keys[child]!;
        nodes[i] = nodes[child]!;
        i = child;
      }
      keys[i] = lastKey;
      nodes[i] = lastNode;
      return top;
    };
    dist[source] = 0;
    push(0, source);
    while (size > 0) {
      const at = pop();
      if (settled[at]) continue;
      settled[at] = 1;
      const base = dist[at]!;
      for (let e = offsets[at]!; e < offsets[at + 1]!; e++) {
        const to = targets[e]!;
        const candidate = base + delays[e]!;
        if (candidate < dist[to]!) {
          dist[to] = candidate;
          if (parent) parent[to] = at;
          push(candidate, to);
        }
      }
    }
    const row = Float32Array.from(dist);
    if (!this.rows[source]) this.rowsComputed++;
    this.rows[source] = row;
    if (parent) this.parents[source] = parent;
    return row;
  }
}
