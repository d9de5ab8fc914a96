import { Cube, InvalidArgumentError, mRegion, Ownership, randomInt, reembedTarget, summarize } from '@cubecast/overlay';
import { round, WorkMeter, type Experiment, type ExperimentOptions } from '../experiment.js';
import { assertHostCount, cubeName, Draw, drawRng } from '../scenario.js';
import { lineChart } from '../svg-chart.js';

/**
 * An M/M/infinity population in units of the mean session length: hosts arrive as a Poisson
 * process of rate N until t = 3 (the population climbs to 95% of N), then arrivals stop
 * and the population decays until t = 5 (to about 13% of N). Each host leaves after an
 * exponential session of mean 1. The climb and the decay cross many M-regions, so the run
 * exercises re-embedding both ways, with the server's hysteresis on shrinking.
 */
export const CHURN_PHASES = { arrivalsUntil: 3, end: 5 } as const;

/** Points of the population plot. */
const PLOT_POINTS = 400;

type EventKind = 'join' | 'leave' | 'reembed';

export const churnExperiment: Experiment = {
  name: 'churn',
  description: 'Poisson joins and leaves with M-region re-embedding: ids moved and time per event',
  run({ hosts, seed, progress, now }: ExperimentOptions) {
    assertHostCount(hosts);
    if (!now) throw new InvalidArgumentError('the churn experiment times events and needs a clock');
    const rng = drawRng(seed, Draw.Churn);
    // Arrivals, plus departures: every arrival but those still present at the end.
    const { arrivalsUntil, end } = CHURN_PHASES;
    const expectedEvents = Math.round(hosts * (2 * arrivalsUntil - (1 - Math.exp(-arrivalsUntil)) * Math.exp(arrivalsUntil - end)));
    const meter = new WorkMeter(expectedEvents, progress);
    const moves: Record<EventKind, number[]> = { join: [], leave: [], reembed: [] };
    const micros: Record<EventKind, number[]> = { join: [], leave: [], reembed: [] };
    const reembeds: { t: number; hosts: number; from: string; to: string }[] = [];
    const population: (readonly [number, number])[] = [];
    const cubeSize: (readonly [number, number])[] = [];
    const present: string[] = [];
    let ownership: Ownership | undefined;
    let nextHost = 0;
    let t = 0;
    let events = 0;
    let nextSample = 0;
    let peakHosts = 0;

    /** Moves `ownership` into the cube its population calls for, if any; true if it did. */
    const reembedIfNeeded = (m: number, joining?: string): boolean => {
      const cube = ownership!.cube;
      const target = reembedTarget(cube, m);
      if (!target) return false;
      ownership = ownership!.reembed(new Cube(target.k, target.n));
      if (joining) ownership.join(joining);
      reembeds.push({ t: round(t, 4), hosts: m, from: cubeName(cube), to: `${target.k}x${target.n}` });
      return true;
    };

    for (;;) {
      const arrivalRate = t < arrivalsUntil ? hosts : 0;
      const rate = arrivalRate + present.length;
      if (rate === 0) break;
      t += -Math.log(1 - rng()) / rate;
      if (t >= end) break;
      const start = now();
      let kind: EventKind;
      let moved: number;
      if (rng() * rate < arrivalRate) {
        const key = `h${nextHost++}`;
        present.push(key);
        ownership ??= Ownership.create(new Cube(mRegion(1).k, mRegion(1).n), []);
        kind = reembedIfNeeded(present.length, key) ? 'reembed' : 'join';
        moved = kind === 'reembed' ? ownership.cube.size : ownership.join(key).length;
      } else {
        const at = randomInt(rng, present.length);
        const key = present[at]!;
        present[at] = present[present.length - 1]!;
        present.pop();
        moved = ownership!.leave(key).length;
        kind = 'leave';
        if (present.length === 0) ownership = undefined;
        else if (reembedIfNeeded(present.length)) {
          kind = 'reembed';
          moved = ownership!.cube.size;
        }
      }
      micros[kind].push((now() - start) * 1000);
      moves[kind].push(moved);
      events++;
      peakHosts = Math.max(peakHosts, present.length);
      meter.advance(1, () => `t = ${t.toFixed(2)}, ${present.length} hosts in the ${ownership ? cubeName(ownership.cube) : 'empty'} cube`);
      if (t >= nextSample) {
        nextSample += end / PLOT_POINTS;
        population.push([round(t, 3), present.length]);
        cubeSize.push([round(t, 3), ownership?.cube.size ?? 0]);
      }
    }

    const kinds: EventKind[] = ['join', 'leave', 'reembed'];
    const stats = Object.fromEntries(
      kinds.map((kind) => {
        const m = summarize(moves[kind]);
        const us = summarize(micros[kind]);
        return [kind, { events: m.count, idsMoved: { mean: round(m.mean), p99: m.p99, max: m.max }, microseconds: { p50: round(us.p50, 1), p99: round(us.p99, 1), max: round(us.max, 1) } }];
      }),
    ) as Record<EventKind, { events: number; idsMoved: { mean: number; p99: number; max: number }; microseconds: { p50: number; p99: number; max: number } }>;
    return {
      json: { experiment: 'churn', hosts, seed, phases: CHURN_PHASES, events, peakHosts, stats, reembeds, population, cubeSize },
      table: {
        headers: ['event', 'count', 'ids moved mean', 'p99', 'max', 'time p50 us', 'p99 us', 'max us'],
        rows: kinds.map((kind) => {
          const s = stats[kind];
          return [kind, s.events, s.idsMoved.mean, s.idsMoved.p99, s.idsMoved.max, s.microseconds.p50, s.microseconds.p99, s.microseconds.max];
        }),
      },
      svg: lineChart({
        title: `Churn: Poisson joins and leaves around ${hosts} hosts, ${reembeds.length} re-embeddings`,
        xLabel: 'time (mean session lengths)',
        yLabel: 'hosts / cube size M',
        series: [
          { name: 'hosts m', points: population },
          { name: 'cube size M', points: cubeSize, dash: 'dashed' },
        ],
      }),
    };
  },
};
