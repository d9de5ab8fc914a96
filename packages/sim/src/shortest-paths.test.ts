import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HostNetwork } from './hosts.js';
import { RouterDistances } from './shortest-paths.js';
import { generateTransitStub, underlayFromEdges } from './transit-stub.js';

//   0 --1-- 1 --1-- 2
//   |               |
//   +------5--------3 --2-- 4
const DIAMOND_EDGES = [
  [0, 1, 1],
  [1, 2, 1],
  [2, 3, 1],
  [0, 3, 5],
  [3, 4, 2],
] as const;
const diamond = underlayFromEdges(5, 0, DIAMOND_EDGES);

describe('RouterDistances', () => {
  it('finds the known shortest delays and paths of a hand-made graph', () => {
    const d = new RouterDistances(diamond);
    expect(Array.from(d.row(0))).toEqual([0, 1, 2, 3, 5]);
    expect(d.distance(4, 0)).toBe(5);
    const links: string[] = [];
    d.forEachLink(0, 4, (x, y) => links.push(`${x}-${y}`));
    expect(links.reverse()).toEqual(['0-1', '1-2', '2-3', '3-4']);
  });

  it('computes only the rows it is asked for', () => {
    const d = new RouterDistances(generateTransitStub(3));
    d.distance(10, 20);
    d.distance(20, 10);
    d.distance(10, 4000);
    expect(d.computedRows).toBe(1);
  });

  it('is a metric on a generated underlay, and its paths add up to its distances', () => {
    const underlay = generateTransitStub(5, { transitDomains: 3, stubsPerTransitRouter: 3 });
    const d = new RouterDistances(underlay);
    const router = fc.integer({ min: 0, max: underlay.routerCount - 1 });
    fc.assert(
      fc.property(router, router, router, (a, b, c) => {
        expect(d.row(a)[b]).toBeCloseTo(d.row(b)[a]!, 3);
        expect(d.row(a)[c]!).toBeLessThanOrEqual(d.row(a)[b]! + d.row(b)[c]! + 1e-3);
        let sum = 0;
        let hops = 0;
        d.forEachLink(a, b, (x, y) => {
          const e = Array.from({ length: underlay.offsets[x + 1]! - underlay.offsets[x]! }, (_, i) => underlay.offsets[x]! + i).find(
            (i) => underlay.targets[i] === y,
          );
          expect(e).toBeDefined();
          sum += underlay.delays[e!]!;
          hops++;
        });
        expect(sum).toBeCloseTo(d.row(a)[b]!, 3);
        expect(hops === 0).toBe(a === b);
      }),
      { numRuns: 300 },
    );
  });
});

describe('HostNetwork', () => {
  it('adds access delays to the router path and attaches hosts to stub routers only', () => {
    const underlay = underlayFromEdges(5, 1, DIAMOND_EDGES);
    const hosts = new HostNetwork(new RouterDistances(underlay), 200, 9, [2, 2]);
    for (let h = 0; h < hosts.count; h++) expect(hosts.routerOf[h]).toBeGreaterThanOrEqual(1);
    const [a, b] = [0, 1];
    expect(hosts.latency(a, b)).toBeCloseTo(4 + new RouterDistances(underlay).distance(hosts.routerOf[a]!, hosts.routerOf[b]!), 5);
    expect(hosts.latency(a, a)).toBe(0);
  });

  it('names each physical link of a host-to-host path once, the same both ways', () => {
    const hosts = new HostNetwork(new RouterDistances(diamond), 50, 4);
    const from = Array.from({ length: 50 }, (_, h) => h).find((h) => hosts.routerOf[h] === 1)!;
    const to = Array.from({ length: 50 }, (_, h) => h).find((h) => hosts.routerOf[h] === 4)!;
    const forward: number[] = [];
    const backward: number[] = [];
    hosts.forEachPhysicalLink(from, to, (l) => forward.push(l));
    hosts.forEachPhysicalLink(to, from, (l) => backward.push(l));
    // Access link, 1-2, 2-3, 3-4, access link.
    expect(forward).toHaveLength(5);
    expect(new Set(forward).size).toBe(5);
    expect([...backward].sort()).toEqual([...forward].sort());
  });
});
