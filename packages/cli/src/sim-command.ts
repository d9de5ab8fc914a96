import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DEFAULT_HOSTS, EXPERIMENTS, formatTable, HOST_COUNTS, isParted, type ProgressReporter } from '@cubecast/sim';
import { integerArg, parse, UsageError } from './args.js';
import type { Io, StatusLine } from './io.js';
import { DEFAULT_WORKERS, runPartsInWorkers } from './sim-parts.js';

const DEFAULT_SEED = 1;
const DEFAULT_OUT = 'sim-results';

export const SIM_HELP = `Usage: cubecast sim <experiment> [options]

Runs one of the papers' overlay experiments with Cubecast's own algorithms on a generated
transit-stub Internet (GT-ITM style, 5050 routers), prints a summary table and writes
<out>/<experiment>.json and <out>/<experiment>.svg. Models and results: docs/experiments.md.

Experiments:
${EXPERIMENTS.map((e) => `  ${e.name.padEnd(15)}${e.description}`).join('\n')}

Options:
  --hosts <N>      hosts, a power of 16: ${HOST_COUNTS.join(', ')} (default ${DEFAULT_HOSTS}, the papers'
                   size; 4096 for a quick run). Compares the hypercube of N nodes with
                   the 16-ary cube of N nodes.
  --seed <S>       seed of every random draw, 0..4294967295 (default ${DEFAULT_SEED}): a seed repeats a run
  --out <dir>      where the JSON and SVG go (default ./${DEFAULT_OUT})
  --workers <W>    threads for the experiments that split into parts (success-ratio,
                   lateness, link-stress): the same results, sooner. 1..64 (default
                   ${DEFAULT_WORKERS}, one a core)
  --quiet          no progress bar

Every run ends with its wall time and peak memory (resident set).

Example:
  $ cubecast sim delay-penalty --hosts 4096 --out /tmp/sim`;

/**
 * The progress bar: on a terminal, redrawn when the step changes and otherwise at most every
 * 100 ms; elsewhere (a log), a line per 10%.
 */
function progressBar(status: StatusLine, clock: () => number): ProgressReporter {
  const started = clock();
  let lastDraw = -Infinity;
  let lastLabel = '';
  let lastTenth = -1;
  return (done, total, label) => {
    const fraction = total > 0 ? done / total : 1;
    const now = clock();
    const due = status.live ? label !== lastLabel || now - lastDraw >= 100 || done >= total : Math.floor(fraction * 10) !== lastTenth;
    if (!due) return;
    lastDraw = now;
    lastLabel = label;
    lastTenth = Math.floor(fraction * 10);
    const width = 30;
    const filled = Math.round(fraction * width);
    const seconds = ((now - started) / 1000).toFixed(1);
    status.show(`[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}%  ${seconds} s  ${label}`);
  };
}

export async function simCommand(args: string[], io: Io): Promise<number> {
  const options = parse(args, { hosts: { type: 'string' }, seed: { type: 'string' }, out: { type: 'string' }, workers: { type: 'string' }, quiet: { type: 'boolean' } }, 'sim');
  if (options.help || options.positionals.length === 0) {
    io.out(SIM_HELP);
    return 0;
  }
  const [name, ...extra] = options.positionals;
  if (extra.length > 0) throw new UsageError(`sim: one experiment at a time, got "${options.positionals.join(' ')}"`);
  const experiment = EXPERIMENTS.find((e) => e.name === name);
  if (!experiment) throw new UsageError(`sim: unknown experiment "${name}": expected ${EXPERIMENTS.map((e) => e.name).join(', ')}`);
  const hosts = integerArg(options.string('hosts') ?? String(DEFAULT_HOSTS), '--hosts', 1, 2 ** 32);
  const seed = integerArg(options.string('seed') ?? String(DEFAULT_SEED), '--seed', 0, 2 ** 32 - 1);
  const out = resolve(options.string('out') ?? DEFAULT_OUT);
  const workers = integerArg(options.string('workers') ?? String(DEFAULT_WORKERS), '--workers', 1, 64);
  const status = options.flag('quiet') ? undefined : io.status;
  const clock = () => performance.now();
  const started = clock();
  const runOptions = { hosts, seed, now: clock, ...(status && { progress: progressBar(status, clock) }) };
  const result = isParted(experiment) && workers > 1 ? await runPartsInWorkers(experiment, runOptions, workers) : experiment.run(runOptions);
  status?.done();
  const wallSeconds = (clock() - started) / 1000;
  mkdirSync(out, { recursive: true });
  const files = [join(out, `${experiment.name}.json`), join(out, `${experiment.name}.svg`)] as const;
  writeFileSync(files[0], `${JSON.stringify(result.json, null, 2)}\n`);
  writeFileSync(files[1], result.svg);
  io.out(`${experiment.name}: ${hosts} hosts, seed ${seed}\n`);
  io.out(formatTable(result.table.headers, result.table.rows, result.table.textColumns));
  io.out(`\nwrote ${files.join(' and ')}`);
  io.out(`wall time ${wallSeconds.toFixed(1)} s, peak memory ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
  return 0;
}
