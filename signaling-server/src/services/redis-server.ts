import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Debian's redis-server: what a deployment runs, and what the tests start. */
export const REDIS_SERVER = process.env.CUBECAST_REDIS_SERVER ?? '/usr/bin/redis-server';

export interface RedisProcess {
  readonly url: string;
  readonly port: number;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

/** A port free on 127.0.0.1 now (the kernel's pick for port 0). */
export async function freePort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as { port: number };
  probe.close();
  await once(probe, 'close');
  return port;
}

/**
 * Starts a real redis-server on a free loopback port, in a directory of its own, with no
 * persistence to disk (the tests restart servers, not Redis). Resolves once it accepts
 * connections; `stop` ends it and removes the directory.
 */
export async function startRedis(): Promise<RedisProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'cubecast-redis-'));
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const child = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const ready = await new Promise<boolean>((resolve) => {
      const check = setInterval(() => {
        if (output.includes('Ready to accept connections')) done(true);
      }, 20);
      const done = (ok: boolean) => {
        clearInterval(check);
        resolve(ok);
      };
      child.once('exit', () => done(false));
      child.once('error', () => done(false));
    });
    if (ready) {
      return {
        url: `redis://127.0.0.1:${port}`,
        port,
        child,
        stop: async () => {
          if (child.exitCode === null && child.signalCode === null) {
            child.kill('SIGKILL');
            await once(child, 'exit');
          }
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
    // Another process took the port between the probe and the start: try another.
    if (attempt >= 4 || !output.includes('Address already in use')) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`redis-server (${REDIS_SERVER}) did not start: ${output.slice(-500) || 'no output'}`);
    }
  }
}
