import { createRng, createRouter, Cube, randomInt } from '@cubecast/overlay';
import { describe, expect, it } from 'vitest';
import { buildScenario, IdAssignment, RegionPlacement, regionCube, walkRoute } from './scenario.js';

describe('IdAssignment', () => {
  it('a link cost is the latency between the hosts owning its ends, through any swaps, for every cost function made', () => {
    const { hosts } = buildScenario(256, 7);
    const rng = createRng(11);
    const ids = IdAssignment.random(256, rng);
    const costs = [ids.linkCost(hosts)];
    for (let step = 0; step < 200; step++) {
      const [a, b] = [randomInt(rng, 256), randomInt(rng, 256)];
      if (step === 100) costs.push(ids.linkCost(hosts));
      ids.swap(a, b);
      expect(ids.idOf[ids.hostOf[a]!]).toBe(a);
      for (const cost of costs) {
        const [x, y] = [randomInt(rng, 256), randomInt(rng, 256)];
        expect(cost(x, y)).toBe(hosts.latency(ids.hostOf[x]!, ids.hostOf[y]!));
        expect(cost(a, b)).toBe(hosts.latency(ids.hostOf[a]!, ids.hostOf[b]!));
      }
    }
    // A clone has the ids as they are, and its own costs.
    const clone = ids.clone();
    const cloneCost = clone.linkCost(hosts);
    clone.swap(0, 1);
    expect(cloneCost(0, 2)).toBe(hosts.latency(clone.hostOf[0]!, clone.hostOf[2]!));
    expect(costs[0]!(0, 2)).toBe(hosts.latency(ids.hostOf[0]!, ids.hostOf[2]!));
  });
});

describe('RegionPlacement', () => {
  const { hosts } = buildScenario(256, 7);
  const cube = regionCube(256);
  const placed = RegionPlacement.random(cube, 256, createRng(5));

  it('gives each of the hosts a connected run of two or three of the M-region cube\'s ids, each id one host', () => {
    expect(`${cube.k}x${cube.n}`).toBe('3x6');
    const seen = new Set<number>();
    for (let host = 0; host < 256; host++) {
      const ids = [...placed.idsOf(host)];
      expect(ids.length === 2 || ids.length === 3).toBe(true);
      for (const id of ids) expect(placed.hostOf[id]).toBe(host);
      // Consecutive ranks of the Gray-code walk: each id a neighbour of another of the run.
      for (const id of ids) expect(ids.some((other) => cube.areNeighbours(id, other))).toBe(true);
      ids.forEach((id) => seen.add(id));
    }
    expect(seen.size).toBe(cube.size);
  });

  it('is a random order, drawn from the seed', () => {
    const again = RegionPlacement.random(cube, 256, createRng(5));
    const other = RegionPlacement.random(cube, 256, createRng(6));
    expect(again.hostOf).toEqual(placed.hostOf);
    expect(other.hostOf).not.toEqual(placed.hostOf);
  });

  it('anchors at the smallest id, routes to the id fewest hops from the anchor, and costs nothing inside a host', () => {
    const anchor = placed.anchorOf(9);
    expect(anchor).toBe(Math.min(...placed.idsOf(9)));
    const cost = placed.linkCost(hosts);
    for (let host = 0; host < 256; host++) {
      const target = placed.targetOf(host, anchor);
      const fewest = Math.min(...Array.from(placed.idsOf(host), (id) => cube.hopDistance(anchor, id)));
      expect(target).toBe(Math.min(...[...placed.idsOf(host)].filter((id) => cube.hopDistance(anchor, id) === fewest)));
      const [first, second] = placed.idsOf(host);
      expect(cost(first!, second!)).toBe(0);
      expect(cost(first!, anchor)).toBe(hosts.latency(host, 9));
    }
  });
});

describe('walkRoute', () => {
  it('sums a route\'s link costs and counts its hops, and those between two hosts', () => {
    // 2-ary 3-cube, odr from 000 to 111: 000 -> 100 -> 110 -> 111. Ids 4 and 6 share a host.
    const cube = new Cube(2, 3);
    const router = createRouter(cube, { policy: 'odr' });
    const cost = (a: number, b: number) => a + b;
    const hostOf = Int32Array.from([0, 1, 2, 3, 4, 5, 4, 7]);
    expect(walkRoute(router, cost, 0, 7, hostOf)).toEqual({ latency: 4 + 10 + 13, hops: 3, hostHops: 2 });
    expect(walkRoute(router, cost, 0, 7)).toEqual({ latency: 27, hops: 3, hostHops: 3 });
    expect(walkRoute(router, cost, 5, 5, hostOf)).toEqual({ latency: 0, hops: 0, hostHops: 0 });
  });
});
