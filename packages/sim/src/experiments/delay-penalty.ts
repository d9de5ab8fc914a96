import { createRouter, delayPenalty, ROUTING_POLICIES, summarize, type Cube, type LinkCost, type LogicalId } from '@cubecast/overlay';
import { brief, cdfPoints, round, WorkMeter, type Experiment, type ExperimentOptions } from '../experiment.js';
import { assertHostCount, buildScenario, comparedCubes, cubeName, Draw, drawPublication, drawRng, RegionPlacement, regionCube, walkRoute } from '../scenario.js';
import { lineChart, PALETTE } from '../svg-chart.js';

/** The hypercube's curves solid, the 16-ary cube's dashed, the M-region cube's dotted. */
const LINE_BY_CUBE = ['solid', 'dashed', 'dotted'] as const;

/** CDF points kept per series in the JSON and drawn in the plot. */
const CDF_POINTS = 100;

/** A cube with the hosts on it: what a route costs, where the channel enters, where a route to a host ends. */
interface Placement {
  readonly cube: Cube;
  readonly cost: LinkCost;
  readonly anchor: LogicalId;
  readonly targetOf: (host: number) => LogicalId;
  /** Each id's host, where a host owns several ids. */
  readonly hostOf?: Int32Array;
}

/**
 * Paper Fig. 4: one random publisher, every other host a subscriber; each subscriber's route
 * latency over the overlay divided by its direct unicast latency, for every routing policy on
 * the hypercube and on the 16-ary cube of N nodes, and on the cube M-region analysis picks
 * for N hosts. Hosts take random ids, the same on the first two cubes, so that comparison is
 * paired; on the M-region cube, with more ids than hosts, they take random runs of ids as the
 * server lays them out.
 */
export const delayPenaltyExperiment: Experiment = {
  name: 'delay-penalty',
  description: 'paper Fig. 4: CDF of delay penalty, odr/random/greedy on the hypercube, the 16-ary cube and the M-region cube',
  run({ hosts, seed, progress }: ExperimentOptions) {
    assertHostCount(hosts);
    const { hosts: network } = buildScenario(hosts, seed);
    const { publisher, ids } = drawPublication(hosts, seed);
    const oneIdEach = ids.linkCost(network);
    const placements: Placement[] = comparedCubes(hosts).map((cube) => ({ cube, cost: oneIdEach, anchor: ids.idOf[publisher]!, targetOf: (host) => ids.idOf[host]! }));
    const placed = RegionPlacement.random(regionCube(hosts), hosts, drawRng(seed, Draw.RegionIds));
    const regionAnchor = placed.anchorOf(publisher);
    placements.push({ cube: placed.cube, cost: placed.linkCost(network), anchor: regionAnchor, targetOf: (host) => placed.targetOf(host, regionAnchor), hostOf: placed.hostOf });
    const meter = new WorkMeter(placements.length * ROUTING_POLICIES.length * (hosts - 1), progress);
    const unicast = new Float64Array(hosts);
    for (let s = 0; s < hosts; s++) unicast[s] = network.latency(publisher, s);

    const series = placements.flatMap(({ cube, cost, anchor, targetOf, hostOf }) =>
      ROUTING_POLICIES.map((policy) => {
        const router = createRouter(cube, { policy, seed, cost });
        const penalties = new Float64Array(hosts - 1);
        const latencies = new Float64Array(hosts - 1);
        let hops = 0;
        let hostHops = 0;
        const label = `${cubeName(cube)} ${policy}`;
        for (let s = 0, i = 0; s < hosts; s++) {
          if (s === publisher) continue;
          const route = walkRoute(router, cost, anchor, targetOf(s), hostOf);
          latencies[i] = route.latency;
          penalties[i++] = delayPenalty(route.latency, unicast[s]!);
          hops += route.hops;
          hostHops += route.hostHops;
          if ((i & 1023) === 0) meter.advance(1024, label);
        }
        meter.advance((hosts - 1) & 1023, label);
        const penalty = summarize(penalties);
        const latency = summarize(latencies);
        return {
          cube: cubeName(cube),
          policy,
          subscribers: hosts - 1,
          meanHops: round(hops / (hosts - 1), 4),
          meanHostHops: round(hostHops / (hosts - 1), 4),
          averageHopsA: round(cube.averageHops, 4),
          delayPenalty: brief(penalty),
          routeLatencyMs: brief(latency),
          cdf: cdfPoints(penalties, CDF_POINTS),
        };
      }),
    );

    const unicastSummary = summarize(unicast.filter((_, s) => s !== publisher));
    // The tails run far right (a near subscriber's unicast latency is tiny): the plot shows
    // the body of the distributions and the JSON keeps the tails.
    const xMax = 1.5 * Math.max(...series.map((s) => s.delayPenalty.p90));
    return {
      json: { experiment: 'delay-penalty', hosts, seed, publisher, unicastLatencyMs: brief(unicastSummary), series },
      table: {
        textColumns: 2,
        headers: ['cube', 'policy', 'mean hops', 'between hosts', 'A(k,n)', 'penalty mean', 'p10', 'p50', 'p90', 'p99', 'latency p50 ms'],
        rows: series.map((s) => [
          s.cube,
          s.policy,
          s.meanHops,
          s.meanHostHops,
          s.averageHopsA,
          s.delayPenalty.mean,
          s.delayPenalty.p10,
          s.delayPenalty.p50,
          s.delayPenalty.p90,
          s.delayPenalty.p99,
          s.routeLatencyMs.p50,
        ]),
      },
      svg: lineChart({
        title: `Delay penalty, ${hosts} hosts (paper Fig. 4)`,
        xLabel: 'delay penalty (overlay route latency / unicast latency)',
        yLabel: 'fraction of subscribers',
        xRange: [1, xMax],
        yRange: [0, 1],
        series: series.map((s) => ({
          name: `${s.cube} ${s.policy}`,
          points: s.cdf,
          color: PALETTE[ROUTING_POLICIES.indexOf(s.policy)]!,
          dash: LINE_BY_CUBE[placements.findIndex((p) => cubeName(p.cube) === s.cube)]!,
        })),
      }),
    };
  },
};
