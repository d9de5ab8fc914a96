/**
 * What the browser benchmarks share: a deadline that stops a run that hangs, the server
 * serving the built web app on loopback, and Debian's Chromium with the flags benchmarks need.
 * Run them inside a private network namespace (e2e/isolate.mjs does it).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunningServer, ServerOptions } from '@cubecast/signaling-server';
import { chromium, type Browser } from 'playwright-core';
import { assertChromium, BROWSER_ARGS, CHROMIUM_PATH } from '@cubecast/scenario/chromium';
import { startLoopbackServer, webRoot } from '@cubecast/scenario/server';

export interface BenchBrowser {
  readonly server: RunningServer;
  readonly browser: Browser;
  close(): Promise<void>;
}

/** Starts the server (with `serverOptions`) and the browser, and a deadline after which the process exits. */
export async function startBenchBrowser(name: string, page: string, deadlineMs: number, serverOptions: Partial<ServerOptions> = {}): Promise<BenchBrowser> {
  const watchdog = setTimeout(() => {
    console.error(`${name}: still running after ${deadlineMs / 60_000} minutes; stopping`);
    process.exit(1);
  }, deadlineMs);
  // Said in one line, rather than a stack or Playwright's banner about `npx playwright install`.
  try {
    if (!existsSync(join(webRoot(), page))) throw new Error(`apps/web/dist/${page} is missing; run npm run build first`);
    assertChromium();
  } catch (error) {
    console.error(`${name}: ${(error as Error).message}`);
    process.exit(2);
  }
  const server = await startLoopbackServer({ serverOptions });
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: BROWSER_ARGS });
  return {
    server,
    browser,
    close: async () => {
      await browser.close();
      await server.close();
      clearTimeout(watchdog);
    },
  };
}

export interface CpuSample {
  /** Whole machine, in percent of one core (so up to 100 x cores). */
  readonly machine: number;
  /** Chromium's network service, which carries every tab's UDP, in percent of one core. */
  readonly networkService: number;
  /** The busiest renderer (tab), in percent of one core. */
  readonly busiestRenderer: number;
}

/**
 * Measures CPU while `work` runs, from /proc (Linux): the machine, Chromium's network service
 * and its busiest renderer. Undefined where /proc is missing. Shows whether a flow is bound
 * by CPU or by something else.
 */
export async function withCpu<T>(work: () => Promise<T>): Promise<{ result: T; cpu: CpuSample | undefined }> {
  if (!existsSync('/proc/stat')) return { result: await work(), cpu: undefined };
  const ticksPerSecond = 100; // USER_HZ, fixed on Linux
  const before = { processes: chromiumTicks(), machine: machineTicks(), at: performance.now() };
  const result = await work();
  const after = { processes: chromiumTicks(), machine: machineTicks(), at: performance.now() };
  const seconds = (after.at - before.at) / 1000;
  const percent = (pid: number) => ((after.processes.get(pid)!.ticks - (before.processes.get(pid)?.ticks ?? after.processes.get(pid)!.ticks)) / ticksPerSecond / seconds) * 100;
  const cores = after.machine.cores;
  let networkService = 0;
  let busiestRenderer = 0;
  for (const [pid, { kind }] of after.processes) {
    if (kind === 'network') networkService += percent(pid);
    if (kind === 'renderer') busiestRenderer = Math.max(busiestRenderer, percent(pid));
  }
  const busy = after.machine.busy - before.machine.busy;
  const total = busy + after.machine.idle - before.machine.idle;
  return { result, cpu: { machine: (busy / total) * 100 * cores, networkService, busiestRenderer } };
}

function machineTicks(): { busy: number; idle: number; cores: number } {
  const lines = readFileSync('/proc/stat', 'utf8').split('\n');
  const fields = lines[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = fields[3]! + fields[4]!;
  return { busy: fields.reduce((a, b) => a + b, 0) - idle, idle, cores: lines.filter((l) => /^cpu\d/.test(l)).length };
}

function chromiumTicks(): Map<number, { kind: 'network' | 'renderer' | 'other'; ticks: number }> {
  const out = new Map<number, { kind: 'network' | 'renderer' | 'other'; ticks: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const command = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (!command.includes('chromium')) continue;
      const kind = command.includes('--type=renderer') ? 'renderer' : command.includes('NetworkService') ? 'network' : 'other';
      // Fields after the command name: utime and stime are the 12th and 13th.
      const fields = readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]!.split(' ');
      out.set(Number(entry), { kind, ticks: Number(fields[11]) + Number(fields[12]) });
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return out;
}
