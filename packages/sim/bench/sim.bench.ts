/**
 * Simulator benchmark: `npm run bench -w packages/sim` (after `npm run build`).
 *
 * The target: a full delay-penalty run at 65536 hosts under 60 s and under 2 GB. Each
 * run is a separate `cubecast sim` process, so its peak memory is its own. Baseline, in the
 * same run: computing every router-to-router delay up front (5050 Dijkstra runs), which is
 * what a simulator without lazy rows pays before routing anything. Medians of 3: the machine
 * is small and shared.
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

if (process.argv[2] === '--all-pairs') {
  const start = performance.now();
  const distances = new RouterDistances(generateTransitStub(1));
  for (let r = 0; r < distances.underlay.routerCount; r++) distances.row(r);
  process.stdout.write(JSON.stringify({ seconds: (performance.now() - start) / 1000, peakMb: process.resourceUsage().maxRSS / 1024 }));
  process.exit(0);
}

const cli = fileURLToPath(new URL('../../cli/bin/cubecast.js', import.meta.url));
const out = mkdtempSync(join(tmpdir(), 'cubecast-sim-bench-'));

function simRun(): { seconds: number; peakMb: number } {
  const run = spawnSync(process.execPath, [cli, 'sim', 'delay-penalty', '--hosts', String(HOSTS), '--quiet', '--out', out], { encoding: 'utf8' });
  const match = /wall time ([\d.]+) s, peak memory (\d+) MB/.exec(run.stdout);
  if (run.status !== 0 || !match) throw new Error(`cubecast sim failed (${run.status}): ${run.stderr}`);
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
  sims.push(simRun());
  baselines.push(allPairsRun());
  process.stderr.write(`run ${i + 1}/${RUNS} done\n`);
}
const median = (values: number[]) => summarize(values).p50;
const simSeconds = median(sims.map((s) => s.seconds));
const baseSeconds = median(baselines.map((s) => s.seconds));
console.log(
  table(
    ['work', 'wall s (median)', 'peak MB (median)', 'x baseline time', 'target'],
    [
      ['baseline: all 5050 router rows (Dijkstra)', baseSeconds.toFixed(1), median(baselines.map((s) => s.peakMb)).toFixed(0), '1.00', ''],
      [
        `cubecast sim delay-penalty --hosts ${HOSTS}`,
        simSeconds.toFixed(1),
        median(sims.map((s) => s.peakMb)).toFixed(0),
        (simSeconds / baseSeconds).toFixed(2),
        '< 60 s, < 2048 MB',
      ],
    ],
  ),
);
