import { InvalidArgumentError } from '@cubecast/overlay';
import { UsageError } from './args.js';
import type { Io } from './io.js';
import { cubeCommand } from './cube-commands.js';
import { scenarioCommand } from './scenario-command.js';
import { serveCommand } from './serve-command.js';
import { simCommand } from './sim-command.js';

export type { Io, StatusLine } from './io.js';

export const HELP = `Usage: cubecast <command> [options]

Cubecast delivers and processes live streams through a k-ary n-cube overlay of browser tabs.

Commands:
  serve            run the signaling server and the web app
  cube             cube facts: M-regions, routes, the region table
  sim              the papers' overlay experiments on a simulated Internet (65536 hosts; up to 1048576)
  scenario         run a scripted multi-tab experiment and get its report, or start one

Run "cubecast <command> --help" for a command's options.`;

/**
 * Runs one command line and resolves to its exit code: 0 on success, 2 for bad input (one line
 * on stderr), 1 for anything unexpected. Never calls process.exit, so tests can run it in-process.
 */
export async function run(argv: string[], io: Io): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined:
      case '--help':
      case '-h':
      case 'help':
        io.out(HELP);
        return 0;
      case 'cube':
        cubeCommand(rest, io);
        return 0;
      case 'sim':
        return await simCommand(rest, io);
      case 'serve':
        return await serveCommand(rest, io);
      case 'scenario':
        return await scenarioCommand(rest, io);
      default:
        throw new UsageError(`unknown command "${command}": expected serve, cube, sim or scenario (see cubecast --help)`);
    }
  } catch (error) {
    if (error instanceof UsageError || error instanceof InvalidArgumentError) {
      io.err(`cubecast: ${error.message}`);
      return 2;
    }
    io.err(`cubecast: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return 1;
  }
}
