import type { Summary } from '@cubecast/overlay';

/** What every experiment takes and gives back. Experiments compute; the CLI does the I/O. */

/** Called as work advances: `done` of `total` units, and what is being done. */
export type ProgressReporter = (done: number, total: number, label: string) => void;

export interface ExperimentOptions {
  readonly hosts: number;
  readonly seed: number;
  readonly progress?: ProgressReporter;
  /** A monotonic clock in ms, for experiments that time the overlay's own operations. */
  readonly now?: () => number;
}

export interface SummaryTable {
  readonly headers: readonly string[];
  /** Leading columns holding text (left-aligned); default 1. */
  readonly textColumns?: number;
  readonly rows: readonly (readonly (string | number)[])[];
}

export interface ExperimentResult {
  /** Written to `<name>.json`: always carries `experiment`, `hosts` and `seed`. */
  readonly json: { readonly experiment: string; readonly hosts: number; readonly seed: number } & Record<string, unknown>;
  readonly table: SummaryTable;
  /** Written to `<name>.svg`. */
  readonly svg: string;
}

export interface Experiment {
  readonly name: string;
  /** One line for `--help`. */
  readonly description: string;
  run(options: ExperimentOptions): ExperimentResult;
}

/**
 * An experiment whose work splits into independent parts, each worth `units` of progress:
 * `run` does them in order on this thread; the CLI may do them on worker threads, each of
 * which prepares the context once, and combine their results in order. Either way the result
 * is the same. Parts and their results are plain data (they cross threads by structured clone).
 */
export interface PartedExperiment<Part extends { readonly units: number } = { readonly units: number }, PartResult = unknown, Context = unknown> extends Experiment {
  parts(options: ExperimentOptions): Part[];
  /** What every part of a run needs and is costly to make (the scenario). */
  prepare(options: ExperimentOptions): Context;
  runPart(context: Context, part: Part, advance: (units: number, label: string) => void): PartResult;
  combine(options: ExperimentOptions, results: PartResult[]): ExperimentResult;
}

export function isParted(experiment: Experiment): experiment is PartedExperiment {
  return 'runPart' in experiment;
}

/** A meter over a run's parts, wherever they run: the units of all of them. */
export function partsMeter(parts: readonly { readonly units: number }[], progress?: ProgressReporter): WorkMeter {
  return new WorkMeter(
    parts.reduce((sum, part) => sum + part.units, 0),
    progress,
  );
}

/** A parted experiment whose `run` does its parts in order here. */
export function partedExperiment<Part extends { readonly units: number }, PartResult, Context>(
  spec: Omit<PartedExperiment<Part, PartResult, Context>, 'run'>,
): PartedExperiment<Part, PartResult, Context> {
  return {
    ...spec,
    run(options) {
      const parts = spec.parts(options);
      const meter = partsMeter(parts, options.progress);
      const context = spec.prepare(options);
      return spec.combine(
        options,
        parts.map((part) => spec.runPart(context, part, (units, label) => meter.advance(units, label))),
      );
    },
  };
}

/**
 * Counts units of work and reports them, at most once per percent, so a reporter that draws
 * costs nothing measurable however fine-grained the work is.
 */
export class WorkMeter {
  private done = 0;
  private nextReport = 0;

  constructor(
    private readonly total: number,
    private readonly progress: ProgressReporter | undefined,
  ) {}

  /** Says what starts now, at once: a long step shows its own label while it runs. */
  begin(label: string): void {
    this.progress?.(Math.min(this.done, this.total), this.total, label);
  }

  /** `label` may be a function, so work reported per tiny step builds its text only when shown. */
  advance(units: number, label: string | (() => string)): void {
    this.done += units;
    if (this.progress && (this.done >= this.nextReport || this.done >= this.total)) {
      this.nextReport = this.done + this.total / 100;
      this.progress(Math.min(this.done, this.total), this.total, typeof label === 'string' ? label : label());
    }
  }
}

/** The summary fields the experiments report, rounded. */
export function brief(summary: Summary) {
  return { mean: round(summary.mean), p10: round(summary.p10), p50: round(summary.p50), p90: round(summary.p90), p99: round(summary.p99) };
}

/** `count` points [value, fraction at or below it] of the empirical CDF of `values`. */
export function cdfPoints(values: ArrayLike<number>, count: number): (readonly [number, number])[] {
  const sorted = Float64Array.from(values).sort();
  const points: (readonly [number, number])[] = [];
  for (let j = 1; j <= count; j++) {
    const rank = Math.max(1, Math.floor((j / count) * sorted.length));
    points.push([round(sorted[rank - 1]!), round(rank / sorted.length, 4)]);
  }
  return points;
}

/** A number rounded for tables and JSON: `digits` significant decimals. */
export function round(value: number, digits = 3): number {
  return Number.isFinite(value) ? Number(value.toFixed(digits)) : value;
}
