import { createRouter, meanNormalizedLateness, planSwapDepth, successRatio, type Cube, type SwapView } from '@cubecast/overlay';
import { round, type ExperimentOptions } from '../experiment.js';
import type { HostNetwork } from '../hosts.js';
import { assertHostCount, buildScenario, comparedCubes, cubeName, Draw, drawPublication, drawRng, groupSizes, IdAssignment, sampleHosts, walkRoute } from '../scenario.js';

/**
 * Subscribers' latency bounds: uniform in this range of one-way ms. About half the
 * subscribers of a 65536-host hypercube meet theirs under plain greedy routing (its median
 * route latency is about 540 ms on the default underlay), so there is room for swaps to help
 * and to fail.
 */
export const BOUND_RANGE_MS = [250, 750] as const;

/** Swap depths compared against no swaps (the slides ran D = 1 and asked about more). */
export const SWAP_DEPTHS = [1, 2, 3] as const;

/** Publishers (each with its own ids, subscribers and bounds) averaged over: one draw is noisy. */
export const ADAPTIVE_TRIALS = 3;

/** What one trial gives for one group size and depth. */
interface TrialOutcome {
  readonly groupSize: number;
  /** 0 for plain greedy routing, else the swap planner's depth D. */
  readonly depth: number;
  readonly successRatio: number;
  readonly meanNormalizedLateness: number;
  readonly swaps: number;
  readonly meanLatencyMs: number;
}

/** Means over the trials, with each trial's success ratio and lateness to show the spread. */
export interface AdaptiveRow extends TrialOutcome {
  readonly byTrial: readonly { readonly successRatio: number; readonly meanNormalizedLateness: number }[];
}

export interface AdaptiveRun {
  readonly cube: string;
  readonly trials: number;
  readonly publishers: number[];
  readonly rows: AdaptiveRow[];
}

/** One trial's one group size, at every depth: a part of the run (experiment.ts). */
export interface AdaptivePart {
  readonly trial: number;
  readonly size: number;
  readonly units: number;
}

export interface AdaptivePartResult {
  readonly trial: number;
  readonly publisher: number;
  /** One a depth, no swaps first. */
  readonly outcomes: TrialOutcome[];
}

export interface AdaptiveContext {
  readonly hosts: number;
  readonly seed: number;
  readonly network: HostNetwork;
  readonly cube: Cube;
}

/** Every depth a run compares: 0 (no swaps), then each swap depth. */
export const DEPTHS = [0, ...SWAP_DEPTHS];

/**
 * The slides' set-up for success ratio and lateness: the hypercube of N nodes, a random
 * publisher, groups of subscribers with latency bounds, greedy routing. Subscribers join one
 * at a time in random order; with adaptive assignment, one that misses its bound runs the
 * slides' depth-D Subscribe (planSwapDepth), which never displaces the publisher or a host
 * that already subscribed. Outcomes are read once every subscriber has joined, so a later
 * swap that changes an earlier subscriber's relays counts too. Within a trial every depth
 * starts from the same ids, subscribers and bounds, so depths are compared pairwise. Each
 * trial's group size is a part of its own: they share nothing but the scenario.
 */
export function adaptiveParts({ hosts }: ExperimentOptions, trials = ADAPTIVE_TRIALS): AdaptivePart[] {
  assertHostCount(hosts);
  const sizes = groupSizes(hosts);
  return Array.from({ length: trials }, (_, trial) => sizes.map((size) => ({ trial, size, units: size * DEPTHS.length }))).flat();
}

export function prepareAdaptive({ hosts, seed }: ExperimentOptions): AdaptiveContext {
  assertHostCount(hosts);
  const { hosts: network } = buildScenario(hosts, seed);
  return { hosts, seed, network, cube: comparedCubes(hosts)[0] };
}

export function runAdaptivePart({ hosts, seed, network, cube }: AdaptiveContext, { trial, size }: AdaptivePart, advance: (units: number, label: string) => void): AdaptivePartResult {
  const { publisher, ids: initial } = drawPublication(hosts, seed, trial);
  const draw = trial * 2 ** 20 + size;
  const subscribers = sampleHosts(hosts, size, publisher, drawRng(seed, Draw.Subscribers, draw));
  const boundRng = drawRng(seed, Draw.Bounds, draw);
  const [low, high] = BOUND_RANGE_MS;
  const bounds = Float64Array.from(subscribers, () => low + (high - low) * boundRng());
  const outcomes = DEPTHS.map((depth) => {
    const label = `trial ${trial + 1}, group ${size}, ${depth === 0 ? 'no swaps' : `swaps D=${depth}`}`;
    return subscribeAll(cube, network, initial.clone(), publisher, subscribers, bounds, depth, (n) => advance(n, label));
  });
  return { trial, publisher, outcomes };
}

/** Means over the trials of each group size and depth. */
export function combineAdaptive({ hosts }: ExperimentOptions, results: readonly AdaptivePartResult[]): AdaptiveRun {
  const trials = new Set(results.map((r) => r.trial)).size;
  const publishers = Array.from({ length: trials }, (_, trial) => results.find((r) => r.trial === trial)!.publisher);
  const outcomes = new Map<string, TrialOutcome[]>();
  for (const result of results) {
    for (const outcome of result.outcomes) {
      const key = `${outcome.groupSize}/${outcome.depth}`;
      outcomes.set(key, [...(outcomes.get(key) ?? []), outcome]);
    }
  }
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  const rows = [...outcomes.values()].map((byTrial) => ({
    groupSize: byTrial[0]!.groupSize,
    depth: byTrial[0]!.depth,
    successRatio: round(mean(byTrial.map((o) => o.successRatio)), 4),
    meanNormalizedLateness: round(mean(byTrial.map((o) => o.meanNormalizedLateness)), 4),
    swaps: round(mean(byTrial.map((o) => o.swaps)), 1),
    meanLatencyMs: round(mean(byTrial.map((o) => o.meanLatencyMs)), 1),
    byTrial: byTrial.map((o) => ({ successRatio: o.successRatio, meanNormalizedLateness: o.meanNormalizedLateness })),
  }));
  return { cube: cubeName(comparedCubes(hosts)[0]), trials, publishers, rows };
}

function subscribeAll(
  cube: Cube,
  network: HostNetwork,
  ids: IdAssignment,
  publisher: number,
  subscribers: Int32Array,
  bounds: Float64Array,
  depth: number,
  advance: (units: number) => void,
): TrialOutcome {
  const cost = ids.linkCost(network);
  const router = createRouter(cube, { policy: 'greedy', cost });
  // The publisher is never displaced, so the channel's anchor stays put.
  const anchor = ids.idOf[publisher]!;
  const subscribed = new Uint8Array(network.count);
  subscribed[publisher] = 1;
  const view: SwapView = {
    cube,
    policy: 'greedy',
    ownerOf: (id) => String(ids.hostOf[id]!),
    idsOf: (host) => [ids.idOf[Number(host)]!],
    hostCost: (a, b) => network.latency(Number(a), Number(b)),
    isProtected: (host) => subscribed[Number(host)] === 1,
  };
  let swaps = 0;
  subscribers.forEach((s, i) => {
    if (depth > 0 && walkRoute(router, cost, anchor, ids.idOf[s]!).latency > bounds[i]!) {
      const request = { subscriber: String(s), publisher: String(publisher), anchor, boundMs: bounds[i]! };
      const plan = planSwapDepth(view, request, depth);
      if (plan) {
        ids.swap(plan.give, plan.take);
        swaps++;
      }
    }
    subscribed[s] = 1;
    if ((i & 255) === 255) advance(256);
  });
  advance(subscribers.length & 255);
  const outcomes = Array.from(subscribers, (s, i) => ({ latency: walkRoute(router, cost, anchor, ids.idOf[s]!).latency, bound: bounds[i]! }));
  return {
    groupSize: subscribers.length,
    depth,
    successRatio: round(successRatio(outcomes), 4),
    meanNormalizedLateness: round(meanNormalizedLateness(outcomes), 4),
    swaps,
    meanLatencyMs: round(outcomes.reduce((sum, o) => sum + o.latency, 0) / outcomes.length, 1),
  };
}
