import { silentLogger, startServer, type RunningServer, type ServerOptions } from '@cubecast/signaling-server';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** The built web app the kit's servers serve (apps/web/dist); throws when it was never built. */
export function webRoot(): string {
  const root = join(dirname(createRequire(import.meta.url).resolve('@cubecast/web/package.json')), 'dist');
  if (!existsSync(join(root, 'index.html'))) throw new Error(`the web app is not built (no ${join(root, 'index.html')}): run npm run build`);
  return root;
}

/**
 * A Cubecast server on 127.0.0.1 (port 0: a free one) serving the built web app, silent, its
 * rooms in Redis at `redisUrl` with short leases: a dead node's rooms move within seconds.
 * The overlay's nodes, and the project's specs, start theirs so.
 */
export function startLoopbackServer(options: { port?: number; redisUrl?: string; serverOptions?: Partial<ServerOptions> } = {}): Promise<RunningServer> {
  return startServer({
    port: options.port ?? 0,
    host: '127.0.0.1',
    webRoot: webRoot(),
    logger: silentLogger,
    ...(options.redisUrl !== undefined && { redis: { url: options.redisUrl, leaseMs: 2000, nodeTtlMs: 2000, requestTimeoutMs: 3000 } }),
    ...options.serverOptions,
  });
}
