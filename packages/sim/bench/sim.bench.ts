/**
 * Simulator benchmark: `npm run bench -w packages/sim` (after `npm run build`).
 *
 * Targets, each a separate `cubecast sim` process, so its peak memory is its own:
 * - delay-penalty at 65536 hosts under 60 s and 2 GB (medians of 3: the machine is small and
 *   shared);
 * - at 1048576 hosts (16^5, the paper's "hundreds of thousands of subscribers"):
 *   delay-penalty under 120 s and 4 GB, every other experiment under 10 minutes, with the
 *   memory per host. These take minutes each: one run apiece (`--quick` skips them).
 * Baseline, in the same run: computing every router-to-router delay up front (5050 Dijkstra
 * runs), which is what a simulator without lazy rows pays before routing anything.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { summarize } from '@cubecast/overlay';
import { table } from '@cubecast/bench-kit';
import { generateTransitStub, RouterDistances } from '../src/index.js';

const RUNS = 3;
const HOSTS = 65536;
const LARGE = 1048576;

if (process.argv[2] === '--all-pairs') {
  const start = performance.now();
  const distances = new RouterDistances(generateTransitStub(1));
  for (let r = 0; r < distances.underlay.routerCount; r++) distances.row(r);
  process.stdout.write(JSON.stringify({ seconds: (performance.now() - start) / 1000, peakMb: process.resourceUsage().maxRSS / 1024 }));
  process.exit(0);
}

const cli = fileURLToPath(new URL('../../cli/bin/cubecast.js', import.meta.url));
const out = mkdtempSync(join(tmpdir(), 'cubecast-sim-bench-'));

function simRun(experiment: string, hosts: number): { seconds: number; peakMb: number } {
  const run = spawnSync(process.execPath, [cli, 'sim', experiment, '--hosts', String(hosts), '--quiet', '--out', out], { encoding: 'utf8' });
  const match = /wall time ([\d.]+) s, peak memory (\d+) MB/.exec(run.stdout);
  if (run.status !== 0 || !match) throw new Error(`cubecast sim ${experiment} failed (${run.status}): ${run.stderr}`);
  return { seconds: Number(match[1]), peakMb: Number(match[2]) };
}

function allPairsRun(): { seconds: number; peakMb: number } {
  const run = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--all-pairs'], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`all-pairs baseline failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as { seconds: number; peakMb: number };
}

const sims: { seconds: number; peakMb: number }[] = [];
const baselines: { seconds: number; peakMb: number }[] = [];
for (let i = 0; i < RUNS; i++) {
  sims.push(simRun('delay-penalty', HOSTS));
  baselines.push(allPairsRun());
  process.stderr.write(`run ${i + 1}/${RUNS} done\n`);
}
const median = (values: number[]) => summarize(values).p50;
const simSeconds = median(sims.map((s) => s.seconds));
const baseSeconds = median(baselines.map((s) => s.seconds));
/** A row of the table: the run's figures beside its target, met or missed. */
function row(work: string, seconds: number, peakMb: number, bytesAHost: string, limit: { seconds: number; mb: number }): string[] {
  const target = `< ${limit.seconds} s${limit.mb < Infinity ? `, < ${limit.mb} MB` : ''}`;
  return [work, seconds.toFixed(1), peakMb.toFixed(0), bytesAHost, (seconds / baseSeconds).toFixed(2), target, seconds < limit.seconds && peakMb < limit.mb ? 'met' : 'missed'];
}
const rows: string[][] = [
  ['baseline: all 5050 router rows (Dijkstra)', baseSeconds.toFixed(1), median(baselines.map((s) => s.peakMb)).toFixed(0), '', '1.00', '', ''],
  row(`delay-penalty --hosts ${HOSTS}`, simSeconds, median(sims.map((s) => s.peakMb)), '', { seconds: 60, mb: 2048 }),
];
if (!process.argv.includes('--quick')) {
  const targets: [experiment: string, seconds: number, mb: number][] = [
    ['delay-penalty', 120, 4096],
    ['success-ratio', 600, Infinity],
    ['lateness', 600, Infinity],
    ['link-stress', 600, Infinity],
    ['mregion', 600, Infinity],
    ['churn', 600, Infinity],
  ];
  for (const [experiment, seconds, mb] of targets) {
    process.stderr.write(`${experiment} --hosts ${LARGE}...\n`);
    const run = simRun(experiment, LARGE);
    rows.push(row(`${experiment} --hosts ${LARGE}`, run.seconds, run.peakMb, ((run.peakMb * 1024 * 1024) / LARGE).toFixed(0), { seconds, mb }));
  }
}
console.log(table(['work', 'wall s', 'peak MB', 'bytes a host', 'x baseline time', 'target', ''], rows));
// The last run of each experiment left its tables and charts there: the million-host ones are worth keeping.
console.log(`JSON and SVG of each experiment's last run: ${out}`);
