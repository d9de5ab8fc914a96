import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { IsolationUnavailableError, TIMELINE_VERSION, type CommandRunner, type Timeline } from '@cubecast/scenario/run';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from './args.js';
import { scenarioCommand } from './scenario-command.js';

async function scenario(argv: string[], runner?: CommandRunner) {
  const out: string[] = [];
  const err: string[] = [];
  let code: number;
  try {
    code = await scenarioCommand(argv, { out: (t) => out.push(t), err: (t) => err.push(t) }, runner);
  } catch (error) {
    // As main.ts's run() answers bad input.
    if (!(error instanceof UsageError)) throw error;
    err.push(`cubecast: ${error.message}`);
    code = 2;
  }
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

// Scenario files must be able to import the kit: these live in the repository (.scratch/, ignored by git).
const scratch = fileURLToPath(new URL('../../../.scratch/', import.meta.url));
const made: string[] = [];
const dir = () => {
  mkdirSync(scratch, { recursive: true });
  const path = mkdtempSync(join(scratch, 'scenario-cli-'));
  made.push(path);
  return path;
};
afterAll(() => {
  for (const path of made) rmSync(path, { recursive: true, force: true });
});

/** What the kit's fixture writes for a test: a timeline with its outcome. */
function writeTimeline(reports: string, folder: string, outcome: NonNullable<Timeline['outcome']>): void {
  mkdirSync(join(reports, folder), { recursive: true });
  const timeline: Timeline = { version: TIMELINE_VERSION, title: folder, file: 'f', startedAt: '', tickMs: 500, tabs: [], samples: [], events: [], outcome };
  writeFileSync(join(reports, folder, 'timeline.json'), JSON.stringify(timeline));
}

describe('cubecast scenario', () => {
  it('prints its help without an action, and refuses an unknown one in one line', async () => {
    expect((await scenario([])).stdout).toContain('Usage: cubecast scenario run <file>');
    expect(await scenario(['start'])).toEqual({ code: 2, stdout: '', stderr: expect.stringMatching(/unknown action "start": expected run or new/) });
  });

  it('new writes a starter that imports the kit, and will not overwrite it', async () => {
    const cwd = dir();
    const file = join(cwd, 'relay-crash.scenario.ts');
    const first = await scenario(['new', file.replace(/\.scenario\.ts$/, '')]);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`wrote ${file}`);
    const text = readFileSync(file, 'utf8');
    expect(text).toContain("from '@cubecast/scenario'");
    expect(text).toContain("test(\"relay-crash\"");
    const again = await scenario(['new', file]);
    expect(again).toEqual({ code: 2, stdout: '', stderr: `cubecast: scenario new: ${file} exists; not overwriting it` });
  });

  it('run: a missing file is one line, and nothing is started', async () => {
    let started = false;
    const r = await scenario(['run', '/nonexistent/x.scenario.ts'], async () => ((started = true), 0));
    expect(r).toEqual({ code: 2, stdout: '', stderr: 'cubecast: no scenario file at /nonexistent/x.scenario.ts' });
    expect(started).toBe(false);
  });

  it('run: a file that cannot import the kit from where it is is refused in one line, and new warns of it', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'cubecast-scenario-cli-'));
    made.push(outside);
    const created = await scenario(['new', join(outside, 'lonely')]);
    expect(created.code).toBe(0);
    expect(created.stderr).toBe(`note: @cubecast/scenario cannot be imported from ${outside}: move the file into a project that has the kit installed (this repository's scenarios/, say)`);
    let started = false;
    const file = join(outside, 'lonely.scenario.ts');
    const r = await scenario(['run', file], async () => ((started = true), 0));
    expect(r).toEqual({ code: 2, stdout: '', stderr: `cubecast: ${file} cannot import @cubecast/scenario from where it is: keep scenarios in a project that has the kit installed (this repository's scenarios/, say)` });
    expect(started).toBe(false);
  });

  it('run: without a namespace to be had, one line says why', async () => {
    const file = join(dir(), 'a.scenario.ts');
    writeFileSync(file, '');
    const r = await scenario(['run', file], async () => {
      throw new IsolationUnavailableError();
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^cubecast: Chromium runs in a private network namespace, which needs (root|Linux)/);
    expect(r.stderr.split('\n')).toHaveLength(1);
  });

  it('run: hands Playwright the file and a reports folder, and prints each report; a failed one is the error line', async () => {
    const cwd = dir();
    const file = join(cwd, 'b.scenario.ts');
    writeFileSync(file, '');
    const reports = join(cwd, 'out');
    // A report of an earlier run in the same folder is not this run's.
    writeTimeline(reports, 'earlier', { status: 'failed', error: 'an old failure', durationMs: 1 });
    utimesSync(join(reports, 'earlier', 'timeline.json'), new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    let seen: { args: readonly string[]; env: NodeJS.ProcessEnv } | undefined;
    const r = await scenario(['run', file, '--out', reports], async (_command, args, env) => {
      seen = { args, env };
      writeTimeline(reports, 'first', { status: 'passed', durationMs: 10 });
      writeTimeline(reports, 'second', { status: 'failed', error: 'waited 30 s for every tab to join', durationMs: 30_000 });
      return 1;
    });
    expect(seen!.args.slice(1, 3)).toEqual(['test', '-c']);
    expect(seen!.args.at(-1)).toBe(file);
    expect(seen!.env.CUBECAST_SCENARIO_FILE).toBe(file);
    expect(seen!.env.CUBECAST_SCENARIO_REPORTS).toBe(reports);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`passed: first\n  report: ${join(reports, 'first', 'report.html')}`);
    expect(r.stdout).not.toContain('earlier');
    expect(r.stderr).toBe(`cubecast: scenario failed: waited 30 s for every tab to join (report: ${join(reports, 'second', 'report.html')})`);
  });

  it('run: a run that wrote no report says so, and points at its output', async () => {
    const file = join(dir(), 'c.scenario.ts');
    writeFileSync(file, '');
    const r = await scenario(['run', file, '--out', join(dir(), 'none')], async () => 1);
    expect(r).toEqual({ code: 1, stdout: '', stderr: 'cubecast: the scenario did not run to a report (Playwright exited with 1); its output is above' });
  });

  it('run (the built command): without Chromium, one line says where it looked and how to install it', async () => {
    const bin = new URL('../bin/cubecast.js', import.meta.url).pathname;
    const file = join(dir(), 'd.scenario.ts');
    writeFileSync(file, '');
    expect(existsSync(bin)).toBe(true);
    const result = await promisify(execFile)(process.execPath, [bin, 'scenario', 'run', file], { env: { ...process.env, CHROMIUM_PATH: '/nonexistent/chromium' } }).catch((error: { code: number; stderr: string }) => error);
    expect(result).toMatchObject({ code: 1, stderr: 'cubecast: no Chromium at /nonexistent/chromium: install it (apt-get install -y chromium) or set CHROMIUM_PATH\n' });
  });
});
