/** The benchmarks' server in a child process (load-server.ts), and how they talk to it over IPC. */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

const PHASE_DEADLINE_MS = 120_000;

export interface Reply {
  type: string;
  url?: string;
  heapUsed?: number;
  hosts?: number;
  deltasSent?: number;
  statesSent?: number;
  joins?: number;
  rss?: number;
}

export function ask(child: ChildProcess, type: string): Promise<Reply> {
  const reply = new Promise<Reply>((resolve) => {
    const listen = (message: Reply) => {
      if (message.type !== type) return;
      child.off('message', listen);
      resolve(message);
    };
    child.on('message', listen);
  });
  child.send({ type });
  return reply;
}

export async function withDeadline<T>(what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${PHASE_DEADLINE_MS / 1000} s`)), PHASE_DEADLINE_MS);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Starts load-server.ts in `mode`; resolves with the child and the URL it listens on. */
export async function startServerProcess(mode: 'bare' | 'cubecast'): Promise<{ child: ChildProcess; url: string }> {
  const child = fork(new URL('./load-server.ts', import.meta.url), [mode], {
    execArgv: ['--expose-gc', '--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const [ready] = (await once(child, 'message')) as [Reply];
  return { child, url: ready.url! };
}
