import { createRouter, delayPenalty, ROUTING_POLICIES, summarize } from '@cubecast/overlay';
import { brief, cdfPoints, round, WorkMeter, type Experiment, type ExperimentOptions } from '../experiment.js';
import { assertHostCount, buildScenario, comparedCubes, cubeName, drawPublication, walkRoute } from '../scenario.js';
import { lineChart, PALETTE } from '../svg-chart.js';

/** CDF points kept per series in the JSON and drawn in the plot. */
const CDF_POINTS = 100;

/**
 * Paper Fig. 4: one random publisher, every other host a subscriber; each subscriber's route
 * latency over the overlay divided by its direct unicast latency, for every routing policy on
 * the hypercube and on the 16-ary cube of N nodes. Hosts take random ids, the same on both
 * cubes, so the comparison is paired.
 */
export const delayPenaltyExperiment: Experiment = {
  name: 'delay-penalty',
  description: 'paper Fig. 4: CDF of delay penalty, odr/random/greedy on the hypercube and the 16-ary cube',
  run({ hosts, seed, progress }: ExperimentOptions) {
    assertHostCount(hosts);
    const { hosts: network } = buildScenario(hosts, seed);
    const { publisher, ids } = drawPublication(hosts, seed);
    const cost = ids.linkCost(network);
    const cubes = comparedCubes(hosts);
    const meter = new WorkMeter(cubes.length * ROUTING_POLICIES.length * (hosts - 1), progress);
    const unicast = new Float64Array(hosts);
    for (let s = 0; s < hosts; s++) unicast[s] = network.latency(publisher, s);

    const series = cubes.flatMap((cube) =>
      ROUTING_POLICIES.map((policy) => {
        const router = createRouter(cube, { policy, seed, cost });
        const anchor = ids.idOf[publisher]!;
        const penalties = new Float64Array(hosts - 1);
        const latencies = new Float64Array(hosts - 1);
        let hops = 0;
        const label = `${cubeName(cube)} ${policy}`;
        for (let s = 0, i = 0; s < hosts; s++) {
          if (s === publisher) continue;
          const route = walkRoute(router, cost, anchor, ids.idOf[s]!);
          latencies[i] = route.latency;
          penalties[i++] = delayPenalty(route.latency, unicast[s]!);
          hops += route.hops;
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
        headers: ['cube', 'policy', 'mean hops', 'A(k,n)', 'penalty mean', 'p10', 'p50', 'p90', 'p99', 'latency p50 ms'],
        rows: series.map((s) => [
          s.cube,
          s.policy,
          s.meanHops,
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
          dashed: s.cube !== series[0]!.cube,
        })),
      }),
    };
  },
};
