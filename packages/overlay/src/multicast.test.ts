import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Cube } from './cube.js';
import { buildSplitGreedyTree, buildTree, forwardingSets, MulticastTree } from './multicast.js';
import { Ownership } from './ownership.js';
import { createRng, hash32, randomInt } from './random.js';
import { createRouter, pathCost, randomLinkCosts, type LinkCost } from './routing.js';

/** Cubes of every shape up to 1024 ids, not one: odd and even k, long rings, many dimensions. */
const shape = fc.tuple(fc.integer({ min: 2, max: 8 }), fc.integer({ min: 1, max: 6 })).filter(([k, n]) => k ** n <= 1024);
const scenario = fc.record({ shape, seed: fc.nat(), subscribers: fc.integer({ min: 1, max: 60 }) });

function setup([k, n]: [number, number], seed: number, count: number) {
  const cube = new Cube(k, n);
  const rng = createRng(seed);
  const root = randomInt(rng, cube.size);
  const subscribers = Array.from({ length: count }, () => randomInt(rng, cube.size));
  const cost = randomLinkCosts(seed);
  return { cube, root, subscribers, cost };
}

/** One parent per node but the root, edges = nodes - 1, and every leaf a subscriber. */
function expectTreeShape(tree: MulticastTree, root: number): void {
  const nodes = [...tree.nodes()];
  expect([...tree.edges()]).toHaveLength(nodes.length - 1);
  expect(tree.parent(root)).toBeUndefined();
  const leavesLeadingNowhere = nodes.filter((id) => tree.children(id).length === 0 && id !== root && !tree.subscribers.has(id));
  expect(leavesLeadingNowhere).toEqual([]);
}

describe('buildTree', () => {
  it.each(['odr', 'random', 'greedy'] as const)('%s: a tree reaching every subscriber in minimal hops', (policy) => {
    fc.assert(
      fc.property(scenario, ({ shape, seed, subscribers: count }) => {
        const { cube, root, subscribers, cost } = setup(shape, seed, count);
        const tree = buildTree(createRouter(cube, { policy, seed, cost }), root, subscribers, cost);
        for (const s of subscribers) {
          const path = tree.pathTo(s);
          expect(path[0]).toBe(root);
          expect(tree.hops(s)).toBe(cube.hopDistance(root, s));
          expect(path.length - 1).toBe(tree.hops(s));
          expect(tree.latency(s)).toBeCloseTo(pathCost(path, cost), 9);
          for (let i = 1; i < path.length; i++) expect(cube.areNeighbours(path[i - 1]!, path[i]!)).toBe(true);
        }
        expectTreeShape(tree, root);
      }),
    );
  });

  it('is exactly the union of the routes when they never merge (odr from one root)', () => {
    const cube = new Cube(2, 4);
    const router = createRouter(cube, { policy: 'odr' });
    const all = [...Array(16).keys()].filter((id) => id !== 0);
    const tree = buildTree(router, 0, all, () => 1);
    const union = new Set(all.flatMap((s) => {
      const p = router.path(0, s);
      return p.slice(1).map((to, i) => `${p[i]}>${to}`);
    }));
    expect(new Set([...tree.edges()].map(([a, b]) => `${a}>${b}`))).toEqual(union);
  });
});

describe('forwardingSets', () => {
  it('sends one copy per next-hop host, never to itself', () => {
    const cube = new Cube(3, 3);
    const o = Ownership.create(cube, ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i']);
    const router = createRouter(cube, { policy: 'odr' });
    const root = o.idsOf('a')[0]!;
    const all = [...Array(cube.size).keys()];
    const tree = buildTree(router, root, all, () => 1);
    const sets = forwardingSets(tree, (id) => o.ownerOf(id)!);
    const crossHost = new Set([...tree.edges()].map(([p, c]) => `${o.ownerOf(p)}>${o.ownerOf(c)}`).filter((e) => e[0] !== e[2]));
    const fromSets = new Set([...sets].flatMap(([from, to]) => [...to].map((t) => `${from}>${t}`)));
    expect(fromSets).toEqual(crossHost);
    for (const [from, to] of sets) expect(to.has(from)).toBe(false);
    // One host owning everything sends nothing.
    const solo = Ownership.create(cube, ['solo']);
    expect(forwardingSets(tree, (id) => solo.ownerOf(id)!).size).toBe(0);
  });
});

describe('buildSplitGreedyTree', () => {
  it('branches from a subscriber next to the route when that is faster', () => {
    // 2-ary 2-cube: root 00, subscribers 01 then 11. Greedy to 11 goes 00 -> 10 -> 11 (its
    // first link is cheaper), but via the subscriber 01 the total is lower.
    const cube = new Cube(2, 2);
    const costs: Record<string, number> = { '0-1': 1, '0-2': 0.5, '2-3': 10, '1-3': 1 };
    const cost: LinkCost = (a, b) => costs[`${Math.min(a, b)}-${Math.max(a, b)}`]!;
    const router = createRouter(cube, { policy: 'greedy', cost });
    expect(router.path(0, 3)).toEqual([0, 2, 3]);
    const tree = buildSplitGreedyTree(router, 0, [1, 3], cost);
    expect(tree.pathTo(3)).toEqual([0, 1, 3]);
    expect(tree.latency(3)).toBe(2);
    expect(buildTree(router, 0, [1, 3], cost).latency(3)).toBe(10.5);
  });

  // Dense: nearly every id subscribes, so most subscribers find every neighbour on the tree
  // (where the search is skipped) or all but a few.
  const dense = fc.record({ shape: shape.filter(([k, n]) => k ** n <= 64), seed: fc.nat() }).map(({ shape, seed }) => ({ shape, seed, subscribers: 3 * shape[0] ** shape[1] }));
  // Link costs of 1, 2 or 3 tie often, and their sums are exact: the route taken must then be
  // the first of the cheapest in the search's order (greedy, then next to each hop in turn).
  const ties = dense.map((drawn) => ({ ...drawn, integral: true }));
  const tiedCosts = (seed: number): LinkCost => (a, b) => 1 + (hash32(seed, Math.min(a, b), Math.max(a, b)) % 3);
  it.each([
    ['a few ids subscribing', scenario.map((drawn) => ({ ...drawn, subscribers: Math.min(drawn.subscribers, 25), integral: false }))],
    ['nearly every id subscribing', dense.map((drawn) => ({ ...drawn, integral: false }))],
    ['nearly every id subscribing, on tied costs', ties],
  ])('gives each subscriber, as it joins, the cheapest of its greedy route and the routes onward from tree subscribers next to it (%s)', (_, subscriberScenario) => {
    fc.assert(
      fc.property(subscriberScenario, ({ shape, seed, subscribers: count, integral }) => {
        const drawn = setup(shape, seed, count);
        const { cube, root, subscribers } = drawn;
        const cost = integral ? tiedCosts(seed) : drawn.cost;
        const router = createRouter(cube, { policy: 'greedy', cost });
        // Latencies here are sums over explicit root-to-node paths, not the tree's bookkeeping.
        const viaTree = (tree: MulticastTree, path: readonly number[]) => {
          let join = path.length - 1;
          while (!tree.has(path[join]!)) join--;
          return pathCost([...tree.pathTo(path[join]!), ...path.slice(join + 1)], cost);
        };
        for (let i = 0; i < subscribers.length; i++) {
          const s = subscribers[i]!;
          // Grafts never move what is on the tree: the tree built from the first i is the one s met.
          const before = buildSplitGreedyTree(router, root, subscribers.slice(0, i), cost);
          const greedy = router.path(root, s);
          const candidates = [greedy];
          for (const hop of greedy) {
            for (const neighbour of cube.neighbours(hop)) {
              if (neighbour !== s && subscribers.slice(0, i).includes(neighbour)) candidates.push(router.path(neighbour, s));
            }
          }
          const expected = Math.min(...candidates.map((path) => viaTree(before, path)));
          const after = buildSplitGreedyTree(router, root, subscribers.slice(0, i + 1), cost);
          if (integral) {
            const taken = candidates.find((path) => viaTree(before, path) === expected)!;
            let join = taken.length - 1;
            while (!before.has(taken[join]!)) join--;
            expect(after.pathTo(s)).toEqual([...before.pathTo(taken[join]!), ...taken.slice(join + 1)]);
          }
          expect(pathCost(after.pathTo(s), cost)).toBeCloseTo(expected, 9);
          expect(after.latency(s)).toBeCloseTo(expected, 9);
          for (const [parent, child] of after.edges()) expect(cube.areNeighbours(parent, child)).toBe(true);
        }
        expectTreeShape(buildSplitGreedyTree(router, root, subscribers, cost), root);
      }),
      { numRuns: 60 },
    );
  });

  it('needs a greedy router', () => {
    const cube = new Cube(2, 2);
    expect(() => buildSplitGreedyTree(createRouter(cube, { policy: 'odr' }), 0, [3], () => 1)).toThrow(/greedy/);
  });
});
