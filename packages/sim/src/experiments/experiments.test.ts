import { Cube, linkStress, regionTable } from '@cubecast/overlay';
import { describe, expect, it } from 'vitest';
import { EXPERIMENTS } from '../index.js';
import { HostNetwork } from '../hosts.js';
import { groupSizes } from '../scenario.js';
import { RouterDistances } from '../shortest-paths.js';
import { underlayFromEdges } from '../transit-stub.js';

const HOSTS = 256;
let tick = 0;
const options = { hosts: HOSTS, seed: 11, now: () => (tick += 0.001) };
const results = new Map(EXPERIMENTS.map((e) => [e.name, e.run(options)]));
const json = (name: string) => results.get(name)!.json as Record<string, any>;

describe('every experiment', () => {
  it.each(EXPERIMENTS.map((e) => e.name))('%s names itself, its size and seed, and draws a chart with a legend', (name) => {
    const result = results.get(name)!;
    expect(result.json).toMatchObject({ experiment: name, hosts: HOSTS, seed: 11 });
    expect(JSON.parse(JSON.stringify(result.json))).toEqual(result.json);
    expect(result.svg).toMatch(/^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(result.svg.match(/<path /g)!.length).toBeGreaterThanOrEqual(2);
    expect(result.table.rows.length).toBeGreaterThan(0);
    for (const row of result.table.rows) expect(row).toHaveLength(result.table.headers.length);
  });

  it('repeats itself under a seed', () => {
    for (const e of EXPERIMENTS.filter((e) => e.name !== 'churn')) expect(e.run(options).json).toEqual(results.get(e.name)!.json);
  });
});

describe('delay-penalty', () => {
  const { series } = json('delay-penalty');

  it('covers three policies on the hypercube, the 16-ary cube and the M-region cube, every other host a subscriber', () => {
    expect(series.map((s: any) => `${s.cube} ${s.policy}`)).toEqual(
      ['2x8', '16x2', '3x6'].flatMap((cube) => ['odr', 'random', 'greedy'].map((policy) => `${cube} ${policy}`)),
    );
    for (const s of series) expect(s.subscribers).toBe(HOSTS - 1);
  });

  it('takes minimal routes: mean hops equal A(k,n) within 2% with one id a host, every hop between two hosts; fewer on the M-region cube, whose routes end at the nearest of two or three ids', () => {
    for (const s of series) {
      const [k, n] = s.cube.split('x').map(Number);
      const { averageHops } = new Cube(k, n);
      if (s.cube === '3x6') {
        expect(s.meanHops).toBeLessThan(0.9 * averageHops);
        // A hop may stay inside a host, which owns a connected run of ids (none happens to here).
        expect(s.meanHostHops).toBeGreaterThan(0.5 * s.meanHops);
        expect(s.meanHostHops).toBeLessThanOrEqual(s.meanHops);
      } else {
        expect(Math.abs(s.meanHops - averageHops) / averageHops).toBeLessThan(0.02);
        expect(s.meanHostHops).toBe(s.meanHops);
      }
    }
  });

  it('has ordered percentiles, penalties of at least 1, and a CDF that ends at 1', () => {
    for (const { delayPenalty: p, cdf } of series) {
      expect(p.p10).toBeGreaterThanOrEqual(1);
      expect([p.p10, p.p50, p.p90, p.p99]).toEqual([...[p.p10, p.p50, p.p90, p.p99]].sort((a, b) => a - b));
      expect(cdf.at(-1)[1]).toBe(1);
    }
  });
});

describe('success-ratio and lateness', () => {
  it('report every group size at every depth, from the same runs', () => {
    const success = json('success-ratio');
    const lateness = json('lateness');
    expect(success.rows).toEqual(lateness.rows);
    expect(success.rows).toHaveLength(groupSizes(HOSTS).length * 4);
    for (const row of success.rows) {
      expect(row.successRatio).toBeGreaterThanOrEqual(0);
      expect(row.successRatio).toBeLessThanOrEqual(1);
      expect(row.meanNormalizedLateness).toBeGreaterThanOrEqual(0);
      expect(row.byTrial).toHaveLength(success.trials);
      if (row.depth === 0) expect(row.swaps).toBe(0);
      // Nobody late means everybody on time, and the other way round.
      expect(row.meanNormalizedLateness === 0).toBe(row.successRatio === 1);
    }
  });
});

describe('link-stress', () => {
  it('counts crossings over unique links, each tree reaching the whole group', () => {
    for (const row of json('link-stress').rows) {
      expect(row.linkStress).toBeCloseTo(row.crossings / row.uniqueLinks, 2);
      expect(row.maxStress).toBeGreaterThanOrEqual(1);
      expect(row.copies).toBeGreaterThanOrEqual(row.groupSize);
      // Every copy crosses at least its sender's and its receiver's access links.
      expect(row.crossings).toBeGreaterThanOrEqual(2 * row.copies);
      expect(row.uniqueLinks).toBeLessThanOrEqual(row.crossings);
    }
  });
});

describe('mregion', () => {
  it('tabulates the regions up to N', () => {
    expect(json('mregion').regions).toEqual(regionTable(HOSTS));
  });
});

describe('churn', () => {
  it('accounts for every event and re-embeds as the population crosses regions', () => {
    const churn = json('churn');
    const { join, leave, reembed } = churn.stats;
    expect(join.events + leave.events + reembed.events).toBe(churn.events);
    expect(reembed.events).toBe(churn.reembeds.length);
    expect(reembed.events).toBeGreaterThan(2);
    expect(join.idsMoved.mean).toBeGreaterThanOrEqual(1);
    expect(churn.peakHosts).toBeGreaterThan(HOSTS * 0.8);
  });
});

describe('link stress on a hand-made underlay', () => {
  // Routers 0-1-2 in a line; each host on its own router with 1 ms access links.
  const underlay = underlayFromEdges(3, 0, [
    [0, 1, 10],
    [1, 2, 10],
  ]);
  const network = new HostNetwork(new RouterDistances(underlay), 60, 1, [1, 1]);
  const on = (router: number) => Array.from({ length: 60 }, (_, h) => h).find((h) => network.routerOf[h] === router)!;
  const physical = (a: number, b: number) => {
    const links: number[] = [];
    network.forEachPhysicalLink(a, b, (l) => links.push(l));
    return links;
  };

  it('is 1 for a chain of relays and counts shared links twice for a star', () => {
    const [a, b, c] = [on(0), on(1), on(2)];
    // a -> b -> c: a's access, 0-1, b's access (twice: in and out), 1-2, c's access.
    const chain = linkStress(new Map([[a, new Set([b])], [b, new Set([c])]]), physical);
    expect(chain).toMatchObject({ crossings: 6, uniqueLinks: 5, maxStress: 2 });
    // a -> b and a -> c: a's access and 0-1 carry both copies.
    const star = linkStress(new Map([[a, new Set([b, c])]]), physical);
    expect(star).toMatchObject({ crossings: 7, uniqueLinks: 5, maxStress: 2 });
    expect(network.latency(a, c)).toBe(22);
  });
});
