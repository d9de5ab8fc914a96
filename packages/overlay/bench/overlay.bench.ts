/**
 * Overlay benchmark: `npm run bench -w packages/overlay`.
 *
 * 1. One publisher to every other node (65535 routes) on the 2-ary 16-cube and the 16-ary
 *    4-cube, per policy, beside a breadth-first search over the same cube (the generic way to
 *    get minimal paths to every node) measured in the same run.
 * 2. 10^5 random joins and leaves over 65536 hosts in their M-region cube, beside a full
 *    re-layout of the same population (what a server without incremental ownership would do).
 *
 * Timings are medians of several runs: the machine is small and shared. Targets: each route
 * pass under 1 s; the churn run under 2 s.
 */
import { table } from '@cubecast/bench-kit';
import { Cube, createRng, createRouter, mRegion, Ownership, randomInt, randomLinkCosts, summarize, type RoutingPolicy } from '../src/index.js';

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const heapMb = () => process.memoryUsage().heapUsed / 2 ** 20;

/** Runs `work` `runs` times after one warm-up; median wall time (ms) and heap growth during a run. */
function measure<T>(runs: number, setup: () => T, work: (input: T) => unknown) {
  work(setup());
  const times: number[] = [];
  const heaps: number[] = [];
  for (let i = 0; i < runs; i++) {
    const input = setup();
    gc();
    const heapBefore = heapMb();
    const start = performance.now();
    work(input);
    times.push(performance.now() - start);
    heaps.push(heapMb() - heapBefore);
  }
  return { ms: summarize(times).p50, heapMb: summarize(heaps).p50 };
}

/** Minimal hop paths to every node by breadth-first search: the baseline for a route pass. */
function bfsPass(cube: Cube, source: number): number {
  const parent = new Int32Array(cube.size).fill(-1);
  parent[source] = source;
  const queue = new Int32Array(cube.size);
  queue[0] = source;
  let tail = 1;
  for (let head = 0; head < tail; head++) {
    const at = queue[head]!;
    for (const next of cube.neighbours(at)) {
      if (parent[next] === -1) {
        parent[next] = at;
        queue[tail++] = next;
      }
    }
  }
  let hops = 0;
  for (let id = 0; id < cube.size; id++) for (let at = id; at !== source; at = parent[at]!) hops++;
  return hops;
}

function routePass(cube: Cube, policy: RoutingPolicy, source: number): number {
  const router = createRouter(cube, { policy, seed: 7, cost: randomLinkCosts(7) });
  let hops = 0;
  for (let to = 0; to < cube.size; to++) if (to !== source) hops += router.path(source, to).length - 1;
  return hops;
}

const RUNS = 5;
console.log(`Overlay benchmark (node ${process.version}, medians of ${RUNS} runs)\n`);

const routeRows: (string | number)[][] = [];
for (const cube of [new Cube(2, 16), new Cube(16, 4)]) {
  const source = 12345;
  const baseline = measure(RUNS, () => null, () => bfsPass(cube, source));
  routeRows.push([`${cube.k}x${cube.n}`, 'bfs (baseline)', cube.size - 1, baseline.ms.toFixed(1), '1.00', Math.round(((cube.size - 1) / baseline.ms) * 1000).toLocaleString('en'), baseline.heapMb.toFixed(1), '', '']);
  for (const policy of ['odr', 'random', 'greedy'] as const) {
    const hops = routePass(cube, policy, source);
    const run = measure(RUNS, () => null, () => routePass(cube, policy, source));
    routeRows.push([
      `${cube.k}x${cube.n}`,
      policy,
      cube.size - 1,
      run.ms.toFixed(1),
      (run.ms / baseline.ms).toFixed(2),
      Math.round(((cube.size - 1) / run.ms) * 1000).toLocaleString('en'),
      run.heapMb.toFixed(1),
      `${(hops / (cube.size - 1)).toFixed(3)} (A=${cube.averageHops})`,
      run.ms < 1000 ? 'yes' : 'NO',
    ]);
  }
}
console.log('One publisher to every other node');
console.log(table(['cube', 'policy', 'routes', 'ms', 'x bfs', 'routes/s', 'heap MB', 'mean hops', '< 1 s'], routeRows));

const HOSTS = 65536;
const OPS = 100_000;
const region = mRegion(HOSTS);
const cube = new Cube(region.k, region.n);
const hosts = Array.from({ length: HOSTS }, (_, i) => `h${i}`);

const relayout = measure(RUNS, () => null, () => Ownership.create(cube, hosts));
let moves = { join: 0, leave: 0, joins: 0, leaves: 0 };
const churn = measure(
  3,
  () => ({ ownership: Ownership.create(cube, hosts), rng: createRng(11) }),
  ({ ownership, rng }) => {
    moves = { join: 0, leave: 0, joins: 0, leaves: 0 };
    let next = HOSTS;
    const present = [...hosts];
    for (let op = 0; op < OPS; op++) {
      if (rng() < 0.5) {
        const key = `h${next++}`;
        moves.join += ownership.join(key).length;
        moves.joins++;
        present.push(key);
      } else {
        const at = randomInt(rng, present.length);
        const key = present[at]!;
        present[at] = present[present.length - 1]!;
        present.pop();
        moves.leave += ownership.leave(key).length;
        moves.leaves++;
      }
    }
  },
);
console.log(`\n${OPS.toLocaleString('en')} random joins and leaves, ${HOSTS} hosts in the ${cube} (M = ${cube.size})`);
console.log(
  table(
    ['operation', 'ms', 'ops/s', 'us/op', 'heap MB', 'moves/op', '< 2 s'],
    [
      ['full re-layout (baseline)', relayout.ms.toFixed(1), (1000 / relayout.ms).toFixed(1), (relayout.ms * 1000).toFixed(0), relayout.heapMb.toFixed(1), `${cube.size} (all)`, ''],
      [
        'incremental join/leave',
        churn.ms.toFixed(1),
        Math.round((OPS / churn.ms) * 1000).toLocaleString('en'),
        ((churn.ms * 1000) / OPS).toFixed(1),
        churn.heapMb.toFixed(1),
        `${(moves.join / moves.joins).toFixed(2)} join, ${(moves.leave / moves.leaves).toFixed(2)} leave`,
        churn.ms < 2000 ? 'yes' : 'NO',
      ],
    ],
  ),
);
console.log(
  `\nOne incremental operation costs ${((relayout.ms * OPS) / churn.ms).toFixed(0)}x less than re-laying out the population.`,
);
