export { DEFAULT_TRANSIT_STUB, generateTransitStub, type DelayRange, type EdgeModel, type TransitStubParams, type Underlay } from './transit-stub.js';
export { RouterDistances } from './shortest-paths.js';
export { DEFAULT_ACCESS_DELAY, HostNetwork } from './hosts.js';
export { assertHostCount, DEFAULT_HOSTS, HOST_COUNTS } from './scenario.js';
export { formatTable } from './table.js';
export { lineChart, type ChartSeries, type LineChart } from './svg-chart.js';
export { isParted, partsMeter, type Experiment, type ExperimentOptions, type ExperimentResult, type PartedExperiment, type ProgressReporter, type SummaryTable } from './experiment.js';
import type { Experiment } from './experiment.js';
import { churnExperiment } from './experiments/churn.js';
import { delayPenaltyExperiment } from './experiments/delay-penalty.js';
import { linkStressExperiment } from './experiments/link-stress.js';
import { mregionExperiment } from './experiments/mregion.js';
import { latenessExperiment, successRatioExperiment } from './experiments/qos.js';

export const EXPERIMENTS: readonly Experiment[] = [
  delayPenaltyExperiment,
  successRatioExperiment,
  latenessExperiment,
  linkStressExperiment,
  mregionExperiment,
  churnExperiment,
];
