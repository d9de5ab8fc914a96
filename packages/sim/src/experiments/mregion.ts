import { Cube, mRegion, regionTable } from '@cubecast/overlay';
import { round, type Experiment, type ExperimentOptions } from '../experiment.js';
import { assertHostCount } from '../scenario.js';
import { lineChart } from '../svg-chart.js';

/** Samples per doubling of m in the plot: enough to show each region's steps. */
const SAMPLES_PER_OCTAVE = 16;

/** The average hop count of the smallest k-ary cube that holds m nodes. */
function fixedRadixHops(k: number, m: number): number {
  let n = 1;
  while (k ** n < m) n++;
  return new Cube(k, n).averageHops;
}

/**
 * The M-region analysis (slides): which (k, n) Cubecast picks for m hosts, and the average
 * hop count A(k, n) it buys, beside always using a hypercube or always a 16-ary cube.
 */
export const mregionExperiment: Experiment = {
  name: 'mregion',
  description: 'slides: the (k, n) chosen for m hosts and its A(k,n), against hypercubes and 16-ary cubes',
  run({ hosts, seed }: ExperimentOptions) {
    assertHostCount(hosts);
    const regions = regionTable(hosts);
    const ms = new Set<number>();
    for (let i = 0; i <= Math.log2(hosts) * SAMPLES_PER_OCTAVE; i++) ms.add(Math.round(2 ** (i / SAMPLES_PER_OCTAVE)));
    const samples = [...ms].map((m) => {
      const region = mRegion(m);
      return { m, k: region.k, n: region.n, avgHops: round(region.avgHops, 4), hypercubeHops: fixedRadixHops(2, m), radix16Hops: round(fixedRadixHops(16, m), 4) };
    });
    return {
      json: { experiment: 'mregion', hosts, seed, regions, samples },
      table: {
        textColumns: 0,
        headers: ['m from', 'm to', 'k', 'n', 'M', 'A(k,n)', 'diameter', 'degree'],
        rows: regions.map((r) => [r.minHosts, r.maxHosts, r.k, r.n, r.M, round(r.avgHops, 4), r.diameter, r.degree]),
      },
      svg: lineChart({
        title: `Average hop count of the cube chosen for m hosts (M-regions), m <= ${hosts}`,
        xLabel: 'hosts m',
        yLabel: 'average hop count A(k, n)',
        xScale: 'log2',
        series: [
          { name: 'M-region choice', points: samples.map((s) => [s.m, s.avgHops] as const) },
          { name: 'hypercube (k = 2)', points: samples.map((s) => [s.m, s.hypercubeHops] as const), dash: 'dashed' },
          { name: '16-ary cube', points: samples.map((s) => [s.m, s.radix16Hops] as const), dash: 'dashed' },
        ],
      }),
    };
  },
};
