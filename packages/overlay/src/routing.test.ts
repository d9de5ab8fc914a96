import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Cube } from './cube.js';
import { InvalidArgumentError } from './errors.js';
import { createRouter, pathCost, randomLinkCosts, type LinkCost, type RoutingPolicy } from './routing.js';

const cases = fc
  .tuple(fc.integer({ min: 2, max: 12 }), fc.integer({ min: 1, max: 6 }))
  .filter(([k, n]) => k ** n <= 2 ** 18)
  .chain(([k, n]) => {
    const cube = new Cube(k, n);
    return fc.record({
      cube: fc.constant(cube),
      from: fc.nat(cube.size - 1),
      to: fc.nat(cube.size - 1),
      seed: fc.nat(),
    });
  });

function routerFor(policy: RoutingPolicy, cube: Cube, seed: number) {
  return createRouter(cube, { policy, seed, cost: randomLinkCosts(seed) });
}

/** Dimension a step moves along (the steps are neighbours, so exactly one digit differs). */
function stepDimension(cube: Cube, a: number, b: number): number {
  for (let dim = 0; dim < cube.n; dim++) if (cube.digit(a, dim) !== cube.digit(b, dim)) return dim;
  throw new Error('not a step');
}

describe.each(['odr', 'random', 'greedy'] as const)('%s routing', (policy) => {
  it('takes valid, minimal-hop paths from source to destination', () => {
    fc.assert(
      fc.property(cases, ({ cube, from, to, seed }) => {
        const path = routerFor(policy, cube, seed).path(from, to);
        expect(path[0]).toBe(from);
        expect(path[path.length - 1]).toBe(to);
        expect(path.length - 1).toBe(cube.hopDistance(from, to));
        for (let i = 1; i < path.length; i++) expect(cube.areNeighbours(path[i - 1]!, path[i]!)).toBe(true);
      }),
    );
  });

  it('decides hop by hop from the header alone: a relay that already routed other traffic continues the route', () => {
    fc.assert(
      fc.property(cases, fc.array(fc.nat(), { minLength: 1, maxLength: 5 }), ({ cube, from, to, seed }, otherSources) => {
        const path = routerFor(policy, cube, seed).path(from, to);
        // Each relay has its own router, which has just routed other sources' messages to the same place.
        for (let i = 0; i < path.length; i++) {
          const relay = routerFor(policy, cube, seed);
          for (const other of otherSources) relay.path(other % cube.size, to);
          expect(relay.nextHop(path[i]!, to, from)).toBe(path[i + 1] ?? null);
        }
      }),
    );
  });

  if (policy !== 'random') {
    // Random-dimension routing draws its order from the source, so only the others have this.
    it('the rest of a route is the route from where it has got to', () => {
      fc.assert(
        fc.property(cases, ({ cube, from, to, seed }) => {
          const router = routerFor(policy, cube, seed);
          const path = router.path(from, to);
          for (let i = 1; i < path.length; i++) expect(router.path(path[i]!, to)).toEqual(path.slice(i));
        }),
      );
    });
  }

  it('refuses ids outside the cube', () => {
    const cube = new Cube(3, 3);
    expect(() => routerFor(policy, cube, 1).path(0, 27)).toThrow(InvalidArgumentError);
    expect(() => routerFor(policy, cube, 1).path(-1, 3)).toThrow(InvalidArgumentError);
  });
});

describe('odr routing', () => {
  it('corrects dimensions left to right, the shorter way round', () => {
    fc.assert(
      fc.property(cases, ({ cube, from, to }) => {
        const path = createRouter(cube, { policy: 'odr' }).path(from, to);
        const dims = path.slice(1).map((b, i) => stepDimension(cube, path[i]!, b));
        expect(dims).toEqual([...dims].sort((a, b) => a - b));
      }),
    );
    const cube = new Cube(5, 3);
    const path = createRouter(cube, { policy: 'odr' }).path(cube.fromText('041'), cube.fromText('313'));
    expect(path.map((id) => cube.toText(id))).toEqual(['041', '441', '341', '301', '311', '312', '313']);
  });

  it('goes +1 when k is even and the distance is exactly k/2', () => {
    const cube = new Cube(4, 2);
    const path = createRouter(cube, { policy: 'odr' }).path(cube.fromText('00'), cube.fromText('22'));
    expect(path.map((id) => cube.toText(id))).toEqual(['00', '10', '20', '21', '22']);
    const six = new Cube(6, 1);
    expect(createRouter(six, { policy: 'odr' }).path(5, 2)).toEqual([5, 0, 1, 2]);
  });
});

describe('random routing', () => {
  it('corrects each dimension in one run, in an order that depends on the seed', () => {
    const cube = new Cube(3, 6);
    const from = cube.fromText('000000');
    const to = cube.fromText('111111');
    const orders = new Set<string>();
    for (let seed = 0; seed < 200; seed++) {
      const path = createRouter(cube, { policy: 'random', seed }).path(from, to);
      const dims = path.slice(1).map((b, i) => stepDimension(cube, path[i]!, b));
      expect(new Set(dims).size).toBe(6);
      orders.add(dims.join(''));
      expect(createRouter(cube, { policy: 'random', seed }).path(from, to)).toEqual(path);
    }
    expect(orders.size).toBeGreaterThan(100);
  });

  it('never interleaves dimensions, even on long rings', () => {
    fc.assert(
      fc.property(cases, ({ cube, from, to, seed }) => {
        const path = createRouter(cube, { policy: 'random', seed }).path(from, to);
        const dims = path.slice(1).map((b, i) => stepDimension(cube, path[i]!, b));
        const runs = dims.filter((d, i) => i === 0 || dims[i - 1] !== d);
        expect(new Set(runs).size).toBe(runs.length);
      }),
    );
  });
});

describe('greedy routing', () => {
  it('takes the cheapest neighbour that reduces the hop distance, ties in odr order', () => {
    // Costs drawn from few values, so ties are common.
    const coarse = (seed: number): LinkCost => {
      const fine = randomLinkCosts(seed, 0, 4);
      return (a, b) => Math.floor(fine(a, b));
    };
    fc.assert(
      fc.property(cases, ({ cube, from, to, seed }) => {
        const cost = coarse(seed);
        const path = createRouter(cube, { policy: 'greedy', cost }).path(from, to);
        for (let i = 0; i + 1 < path.length; i++) {
          const at = path[i]!;
          const improving = cube
            .neighbours(at)
            .filter((b) => cube.hopDistance(b, to) === cube.hopDistance(at, to) - 1);
          const cheapest = Math.min(...improving.map((b) => cost(at, b)));
          expect(path[i + 1]).toBe(improving.find((b) => cost(at, b) === cheapest));
        }
      }),
    );
  });

  it('with equal costs it is odr', () => {
    fc.assert(
      fc.property(cases, ({ cube, from, to }) => {
        const flat = createRouter(cube, { policy: 'greedy', cost: () => 1 }).path(from, to);
        const unmeasured = createRouter(cube, { policy: 'greedy', cost: () => Infinity }).path(from, to);
        const odr = createRouter(cube, { policy: 'odr' }).path(from, to);
        expect(flat).toEqual(odr);
        expect(unmeasured).toEqual(odr);
      }),
    );
  });

  it('steers round a costly dimension and sums its link costs', () => {
    const cube = new Cube(2, 3);
    // Make the odr first hop (dimension 0) expensive: greedy must avoid it.
    const cost: LinkCost = (a, b) => (cube.digit(a, 0) !== cube.digit(b, 0) ? 50 : 1);
    const path = createRouter(cube, { policy: 'greedy', cost }).path(0, 7);
    expect(path.map((id) => cube.toText(id))).toEqual(['000', '010', '011', '111']);
    expect(pathCost(path, cost)).toBe(52);
  });

  it('needs a cost function', () => {
    expect(() => createRouter(new Cube(2, 2), { policy: 'greedy' })).toThrow(/needs a link cost/);
    expect(() => createRouter(new Cube(2, 2), { policy: 'bogus' as RoutingPolicy })).toThrow(/unknown routing policy/);
  });
});

describe('randomLinkCosts', () => {
  it('is symmetric, seeded and within range', () => {
    const cost = randomLinkCosts(7, 5, 10);
    for (let a = 0; a < 50; a++) {
      for (let b = 0; b < 50; b++) {
        expect(cost(a, b)).toBe(cost(b, a));
        expect(cost(a, b)).toBeGreaterThanOrEqual(5);
        expect(cost(a, b)).toBeLessThan(10);
      }
    }
    expect(randomLinkCosts(8)(1, 2)).not.toBe(randomLinkCosts(7)(1, 2));
  });
});
