/**
 * Runs a scenario file as `cubecast scenario run` does: Playwright's runner with the kit's
 * configuration, in a private network namespace, and what it reported.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join, resolve } from 'node:path';
import { assertChromium } from './chromium.js';
import { LOG_ENV, REPORTS_ENV, SCENARIO_FILE_ENV } from './env.js';
import { runIsolated } from './network-namespace.js';
import { TIMELINE_VERSION, type Timeline } from './timeline.js';

export class ScenarioFileError extends Error {
  override readonly name = 'ScenarioFileError';
}

export interface ScenarioReport {
  /** report.html */
  readonly path: string;
  readonly title: string;
  readonly outcome: NonNullable<Timeline['outcome']> | undefined;
}

export interface ScenarioRun {
  /** Playwright's exit code: 0 when every test passed. */
  readonly exitCode: number;
  /** The reports this run wrote, one per test. */
  readonly reports: ScenarioReport[];
}

/** Runs `command args env` isolated and resolves to its exit code (injected in tests). */
export type CommandRunner = (command: string, args: readonly string[], env: NodeJS.ProcessEnv) => Promise<number>;

/** Whether a scenario file at `path` can import the kit (Node's resolution from its folder). */
export function kitInstalledFor(path: string): boolean {
  try {
    createRequire(path).resolve('@cubecast/scenario/package.json');
    return true;
  } catch {
    return false;
  }
}

/** Where a file's reports go unless told: ./scenario-reports/<file name without .scenario.ts or .ts>. */
export function defaultReportsDir(file: string): string {
  return join('scenario-reports', basename(file).replace(/(\.scenario)?\.[cm]?[jt]s$/, ''));
}

/** The reports under `dir` written since `since` (ms), oldest first. */
export function reportsSince(dir: string, since: number): ScenarioReport[] {
  if (!existsSync(dir)) return [];
  const found: { at: number; report: ScenarioReport }[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const timelinePath = join(dir, entry.name, 'timeline.json');
    if (!existsSync(timelinePath)) continue;
    const at = statSync(timelinePath).mtimeMs;
    if (at < since) continue;
    const timeline = JSON.parse(readFileSync(timelinePath, 'utf8')) as Timeline;
    if (timeline.version !== TIMELINE_VERSION) continue;
    found.push({ at, report: { path: join(dir, entry.name, 'report.html'), title: timeline.title, outcome: timeline.outcome } });
  }
  return found.sort((a, b) => a.at - b.at).map((f) => f.report);
}

/**
 * Runs every test of `file` with the kit's Playwright configuration, Playwright's output on
 * this process's stdout; reports go under `outDir`. Throws ChromiumMissingError,
 * IsolationUnavailableError or ScenarioFileError before starting anything.
 */
export async function runScenarioFile(file: string, outDir = defaultReportsDir(file), runner: CommandRunner = runIsolated): Promise<ScenarioRun> {
  const path = resolve(file);
  if (!existsSync(path) || !statSync(path).isFile()) throw new ScenarioFileError(`no scenario file at ${file}`);
  if (!kitInstalledFor(path)) throw new ScenarioFileError(`${file} cannot import @cubecast/scenario from where it is: keep scenarios in a project that has the kit installed (this repository's scenarios/, say)`);
  assertChromium();
  const require = createRequire(import.meta.url);
  const cli = require.resolve('@playwright/test/cli');
  const config = require.resolve('@cubecast/scenario/playwright-config');
  const reports = resolve(outDir);
  // A second's slack: file times may be rounded below the clock's.
  const startedAt = Date.now() - 1000;
  const exitCode = await runner(process.execPath, [cli, 'test', '-c', config, path], {
    ...process.env,
    [SCENARIO_FILE_ENV]: path,
    [REPORTS_ENV]: reports,
    [LOG_ENV]: '1',
  });
  return { exitCode, reports: reportsSince(reports, startedAt) };
}
