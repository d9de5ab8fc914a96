import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_TRANSIT_STUB, generateTransitStub, underlayFromEdges, type Underlay } from './transit-stub.js';

/** Routers reachable from router 0 by breadth-first search. */
function reachable(underlay: Underlay): number {
  const seen = new Uint8Array(underlay.routerCount);
  const queue = [0];
  seen[0] = 1;
  for (let head = 0; head < queue.length; head++) {
    const at = queue[head]!;
    for (let e = underlay.offsets[at]!; e < underlay.offsets[at + 1]!; e++) {
      const to = underlay.targets[e]!;
      if (!seen[to]) {
        seen[to] = 1;
        queue.push(to);
      }
    }
  }
  return queue.length;
}

describe('generateTransitStub', () => {
  it('builds the papers\' 5050 routers by default, 50 of them transit, all connected', () => {
    const underlay = generateTransitStub(1);
    expect(underlay.routerCount).toBe(5050);
    expect(underlay.transitCount).toBe(50);
    expect(reachable(underlay)).toBe(5050);
  });

  it('repeats itself under a seed and changes with it', () => {
    const a = generateTransitStub(42);
    const b = generateTransitStub(42);
    expect(b.targets).toEqual(a.targets);
    expect(b.delays).toEqual(a.delays);
    const c = generateTransitStub(43);
    expect(c.targets.length === a.targets.length && c.targets.every((t, i) => t === a.targets[i])).toBe(false);
  });

  it('is connected for any seed and size, with either edge model', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 6 }),
        fc.constantFrom('random' as const, 'waxman' as const),
        (seed, transitDomains, routersPerTransit, stubsPerTransitRouter, routersPerStub, edges) => {
          const underlay = generateTransitStub(seed, { transitDomains, routersPerTransit, stubsPerTransitRouter, routersPerStub, edges });
          const transit = transitDomains * routersPerTransit;
          expect(underlay.routerCount).toBe(transit * (1 + stubsPerTransitRouter * routersPerStub));
          expect(reachable(underlay)).toBe(underlay.routerCount);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('keeps every edge within its class\'s delay range and hangs each stub domain off one transit router', () => {
    const underlay = generateTransitStub(7, { edges: 'waxman' });
    const { delays: ranges } = DEFAULT_TRANSIT_STUB;
    const { transitCount, domainOf, offsets, targets, delays } = underlay;
    const uplinks = new Map<number, number[]>();
    for (let a = 0; a < underlay.routerCount; a++) {
      for (let e = offsets[a]!; e < offsets[a + 1]!; e++) {
        const b = targets[e]!;
        const bothTransit = a < transitCount && b < transitCount;
        const range = bothTransit
          ? domainOf[a] === domainOf[b] ? ranges.intraTransit : ranges.interTransit
          : a < transitCount || b < transitCount ? ranges.transitStub : ranges.intraStub;
        expect(delays[e]).toBeGreaterThanOrEqual(range[0]);
        expect(delays[e]).toBeLessThanOrEqual(range[1]);
        if (a >= transitCount && b < transitCount) uplinks.set(domainOf[a]!, [...(uplinks.get(domainOf[a]!) ?? []), b]);
        if (a >= transitCount && b >= transitCount) expect(domainOf[a]).toBe(domainOf[b]);
      }
    }
    expect(uplinks.size).toBe(500);
    for (const routers of uplinks.values()) expect(routers).toHaveLength(1);
  });

  it('refuses impossible parameters', () => {
    expect(() => generateTransitStub(1, { transitDomains: 0 })).toThrow(/positive integers/);
    expect(() => generateTransitStub(1, { stubEdgeProbability: 1.5 })).toThrow(/probabilities/);
    expect(() => generateTransitStub(1, { delays: { ...DEFAULT_TRANSIT_STUB.delays, intraStub: [5, 1] } })).toThrow(/intraStub/);
    expect(() => underlayFromEdges(3, 0, [[0, 3, 1]])).toThrow(/does not join/);
    expect(() => underlayFromEdges(3, 0, [[0, 1, 0]])).toThrow(/positive delay/);
  });
});
