import { existsSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ChromiumMissingError, IsolationUnavailableError, kitInstalledFor, runScenarioFile, ScenarioFileError, starterScenario, type CommandRunner } from '@cubecast/scenario/run';
import { parse, UsageError } from './args.js';
import type { Io } from './io.js';

export const SCENARIO_HELP = `Usage: cubecast scenario run <file> [--out <dir>]
       cubecast scenario new <name>

A scenario is a Playwright test that drives Cubecast tabs through @cubecast/scenario's
fixtures: tabs join, publish, subscribe with bounds and pipelines, fail, move. The kit
records every tab and the server on a fixed tick and writes, per test, a timeline
(timeline.json) and an HTML report with plots. Guide: docs/scenarios.md.

Commands:
  run <file>       runs the scenario's tests (Chromium in a private network namespace, which
                   needs root on Linux) and prints where each report is
  new <name>       writes <name>.scenario.ts, a scenario that runs as it is, to edit from

Options:
  --out <dir>      where run writes reports (default ./scenario-reports/<file name>)

Examples:
  $ cubecast scenario new relay-crash
  $ sudo cubecast scenario run relay-crash.scenario.ts`;

/**
 * `cubecast scenario`: runs a scenario file (`runner` starts Playwright isolated; tests inject
 * their own) or writes a starter. Failures are one line on stderr and exit 1.
 */
export async function scenarioCommand(args: string[], io: Io, runner?: CommandRunner): Promise<number> {
  const options = parse(args, { out: { type: 'string' } }, 'scenario');
  const [action, target, ...extra] = options.positionals;
  if (options.help || action === undefined) {
    io.out(SCENARIO_HELP);
    return 0;
  }
  if (extra.length > 0) throw new UsageError(`scenario ${action}: one argument expected, got ${options.positionals.length - 1}`);
  if (action === 'new') {
    if (!target) throw new UsageError('scenario new: name the scenario, e.g. cubecast scenario new relay-crash');
    if (options.string('out') !== undefined) throw new UsageError('scenario new: --out is an option of run');
    const file = resolve(/\.ts$/.test(target) ? target : `${target}.scenario.ts`);
    if (existsSync(file)) throw new UsageError(`scenario new: ${file} exists; not overwriting it`);
    writeFileSync(file, starterScenario(target.replace(/^.*\//, '').replace(/(\.scenario)?\.ts$/, '')));
    io.out(`wrote ${file}\nrun it: cubecast scenario run ${file}`);
    if (!kitInstalledFor(file)) io.err(`note: @cubecast/scenario cannot be imported from ${dirname(file)}: move the file into a project that has the kit installed (this repository's scenarios/, say)`);
    return 0;
  }
  if (action !== 'run') throw new UsageError(`scenario: unknown action "${action}": expected run or new (see cubecast scenario --help)`);
  if (!target) throw new UsageError('scenario run: name the scenario file, e.g. cubecast scenario run relay-crash.scenario.ts');
  let run;
  try {
    run = await runScenarioFile(target, options.string('out'), runner);
  } catch (error) {
    if (error instanceof ScenarioFileError || error instanceof ChromiumMissingError || error instanceof IsolationUnavailableError) {
      io.err(`cubecast: ${error.message}`);
      return error instanceof ScenarioFileError ? 2 : 1;
    }
    throw error;
  }
  for (const report of run.reports) io.out(`${report.outcome?.status ?? 'unfinished'}: ${report.title}\n  report: ${report.path}`);
  if (run.exitCode === 0) return 0;
  const failed = run.reports.find((r) => r.outcome?.status !== 'passed');
  if (failed) io.err(`cubecast: scenario failed: ${failed.outcome?.error ?? failed.outcome?.status ?? 'it stopped before it ended'} (report: ${failed.path})`);
  else io.err(`cubecast: the scenario did not run to a report (Playwright exited with ${run.exitCode}); its output is above`);
  return 1;
}
