import { partedExperiment, round, type ExperimentOptions } from '../experiment.js';
import { lineChart } from '../svg-chart.js';
import { adaptiveParts, BOUND_RANGE_MS, combineAdaptive, DEPTHS, prepareAdaptive, runAdaptivePart, SWAP_DEPTHS, type AdaptivePartResult, type AdaptiveRow } from './adaptive.js';

type Metric = 'successRatio' | 'meanNormalizedLateness';

/**
 * success-ratio and lateness share one kind of run (adaptive.ts); each reports its own metric, with
 * the effect of swaps against plain greedy routing: a difference in points for the success
 * ratio, a relative change for lateness (the slides' "up to 5%" and "more than 20%").
 */
function adaptiveExperiment(name: string, description: string, metric: Metric, title: string, yLabel: string) {
  const effect = (row: AdaptiveRow, base: AdaptiveRow) =>
    metric === 'successRatio'
      ? `${formatSigned(100 * (row.successRatio - base.successRatio))} pts`
      : base.meanNormalizedLateness === 0
        ? 'n/a'
        : `${formatSigned((100 * (row.meanNormalizedLateness - base.meanNormalizedLateness)) / base.meanNormalizedLateness)}%`;
  return partedExperiment({
    name,
    description,
    parts: adaptiveParts,
    prepare: prepareAdaptive,
    runPart: runAdaptivePart,
    combine(options: ExperimentOptions, results: AdaptivePartResult[]) {
      const run = combineAdaptive(options, results);
      const sizes = [...new Set(run.rows.map((r) => r.groupSize))];
      const rowAt = (size: number, depth: number) => run.rows.find((r) => r.groupSize === size && r.depth === depth)!;
      const label = (depth: number) => (depth === 0 ? 'no swaps' : `swaps D=${depth}`);
      return {
        json: {
          experiment: name,
          hosts: options.hosts,
          seed: options.seed,
          cube: run.cube,
          policy: 'greedy',
          swapPlanner: 'slides depth-D Subscribe (planSwapDepth)',
          boundRangeMs: BOUND_RANGE_MS,
          trials: run.trials,
          publishers: run.publishers,
          rows: run.rows,
        },
        table: {
          textColumns: 0,
          headers: ['group', ...DEPTHS.map(label), ...SWAP_DEPTHS.map((d) => `D=${d} vs none`)],
          rows: sizes.map((size) => [
            size,
            ...DEPTHS.map((d) => rowAt(size, d)[metric]),
            ...SWAP_DEPTHS.map((d) => effect(rowAt(size, d), rowAt(size, 0))),
          ]),
        },
        svg: lineChart({
          title: `${title}, greedy on the ${run.cube} cube, ${options.hosts} hosts (mean of ${run.trials} publishers)`,
          xLabel: 'group size (subscribers)',
          yLabel,
          xScale: 'log2',
          ...(metric === 'successRatio' && { yRange: [0, 1] as const }),
          series: DEPTHS.map((depth) => ({
            name: label(depth),
            points: sizes.map((size) => [size, rowAt(size, depth)[metric]] as const),
            markers: true,
            dash: depth === 0 ? 'dashed' : 'solid',
          })),
        }),
      };
    },
  });
}

function formatSigned(value: number): string {
  const rounded = round(value, 1);
  return rounded > 0 ? `+${rounded}` : String(rounded);
}

export const successRatioExperiment = adaptiveExperiment(
  'success-ratio',
  'slides: share of subscribers within their latency bound, without and with swaps at D = 1, 2, 3',
  'successRatio',
  'Success ratio',
  'success ratio (subscribers within their bound)',
);

export const latenessExperiment = adaptiveExperiment(
  'lateness',
  'slides: mean normalized lateness, without and with swaps at D = 1, 2, 3',
  'meanNormalizedLateness',
  'Lateness',
  'mean normalized lateness',
);
