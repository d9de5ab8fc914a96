/** The benchmarks' server in a child process (load-server.ts), and how they talk to it over IPC. */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

const PHASE_DEADLINE_MS = 120_000;

export interface Reply {
  type: string;
  owner?: boolean;
  exact?: boolean;
  M?: number;
  sockets?: number;
  url?: string;
  heapUsed?: number;
  hosts?: number;
  emptiedAt?: number;
  deltasSent?: number;
  statesSent?: number;
  joins?: number;
  rss?: number;
}

/** Sends `{type}` to a child process and resolves with its first message of that type. */
export function ask<T extends { type: string } = Reply>(child: ChildProcess, type: string): Promise<T> {
  const reply = new Promise<T>((resolve) => {
    const listen = (message: T) => {
      if (message.type !== type) return;
      child.off('message', listen);
      resolve(message);
    };
    child.on('message', listen);
  });
  child.send({ type });
  return reply;
}

export async function withDeadline<T>(what: string, work: Promise<T>, deadlineMs = PHASE_DEADLINE_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${deadlineMs / 1000} s`)), deadlineMs);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Node's flags for a benchmark's child processes, with CUBECAST_BENCH_NODE_ARGS's added
 * (space-separated, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`: Node refuses those in NODE_OPTIONS).
 */
export function childExecArgv(...flags: string[]): string[] {
  return [...flags, '--import', 'tsx', ...(process.env.CUBECAST_BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [])];
}

/** Starts load-server.ts in `mode` (with its arguments); resolves with the child and the URL it listens on. */
export async function startServerProcess(mode: 'bare' | 'cubecast' | 'cluster', ...args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = fork(new URL('./load-server.ts', import.meta.url), [mode, ...args], {
    execArgv: childExecArgv('--expose-gc'),
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const [ready] = (await once(child, 'message')) as [Reply];
  return { child, url: ready.url! };
}

/** Starts load-clients.ts for `count` virtual hosts of `url` (`inFlight` joins at a time); resolves once it is ready for `join`. */
export async function startClientProcess(url: string, count: number, inFlight = 32): Promise<ChildProcess> {
  const child = fork(new URL('./load-clients.ts', import.meta.url), [url, String(count), String(inFlight)], {
    execArgv: childExecArgv(),
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await once(child, 'message');
  return child;
}

/**
 * Ends child processes: each is disconnected first and exits by itself (so a `--cpu-prof` in
 * NODE_OPTIONS writes its profile), and is killed if it has not within 10 s.
 */
export async function stopAll(children: readonly ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      if (child.connected) child.disconnect();
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }),
  );
}
