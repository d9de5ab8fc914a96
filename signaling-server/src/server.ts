import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { NetworkCoordinates } from '@cubecast/overlay';
import { LIMITS } from '@cubecast/protocol';
import { Server as SocketServer } from 'socket.io';
import { createSpaModuleHandler } from './http/spa-modules.js';
import { createStaticHandler, ISOLATION_HEADERS } from './http/static-files.js';
import type { Logger } from './log.js';
import { DEFAULT_CONTROLLER_CONFIG, OverlayController, type ControllerConfig } from './overlay-controller.js';
import type { RateLimit } from './rate-limiter.js';
import { Signaling } from './signaling.js';
import { createMemoryStore, type Store } from './store.js';

export interface ServerOptions {
  /** 0 picks a free port (tests). */
  readonly port: number;
  readonly host: string;
  /** Folder of the built web app; without one, only the API is served. */
  readonly webRoot?: string;
  readonly logger: Logger;
  /** Observer controls need it; undefined turns them off. */
  readonly adminToken?: string | undefined;
  readonly rateLimit?: RateLimit;
  readonly controller?: Partial<ControllerConfig>;
  readonly store?: Store;
  readonly snapshotIntervalMs?: number;
}

export interface RunningServer {
  readonly url: string;
  readonly http: HttpServer;
  readonly io: SocketServer;
  readonly controller: OverlayController;
  close(): Promise<void>;
}

export const DEFAULT_RATE_LIMIT: RateLimit = { burst: 600, perSecond: 200 };

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const serveStatic = options.webRoot ? createStaticHandler(options.webRoot) : undefined;
  const startedAt = Date.now();
  const spaModules = createSpaModuleHandler();
  let signaling: Signaling | undefined;
  const http = createServer((req, res) => {
    for (const [name, value] of Object.entries(ISOLATION_HEADERS)) res.setHeader(name, value);
    if (spaModules(req, res)) return;
    if (req.url === '/healthz' || req.url === '/metrics') {
      const store = signaling?.controller.store;
      const body =
        req.url === '/healthz'
          ? { ok: true, uptimeSeconds: Math.round((Date.now() - startedAt) / 1000) }
          : {
              hosts: store?.hosts.size ?? 0,
              channels: store?.channels.size ?? 0,
              subscriptions: store?.subscriptions.size ?? 0,
              epoch: store?.cube?.epoch ?? 0,
              cube: store?.cube ? `${store.cube.cube.k}x${store.cube.cube.n}` : null,
              heapUsedBytes: process.memoryUsage().heapUsed,
              ...store?.counters,
            };
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
      res.end(JSON.stringify(body));
      return;
    }
    if (!serveStatic) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found');
      return;
    }
    serveStatic(req, res).catch((error: unknown) => {
      options.logger.log('error', 'http:error', { url: req.url, error: String(error) });
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  const io = new SocketServer(http, {
    serveClient: false,
    // Past this socket.io drops the connection; below it, payloads over the protocol's own
    // limit get a BAD_PAYLOAD ack.
    maxHttpBufferSize: LIMITS.maxPayloadBytes * 4,
    pingInterval: 10_000,
    pingTimeout: 10_000,
  });
  const store = options.store ?? createMemoryStore(new NetworkCoordinates());
  signaling = new Signaling(
    io,
    (outbox) => new OverlayController(store, outbox, { ...DEFAULT_CONTROLLER_CONFIG, ...options.controller }),
    {
      adminToken: options.adminToken,
      rateLimit: options.rateLimit ?? DEFAULT_RATE_LIMIT,
      logger: options.logger,
      snapshotIntervalMs: options.snapshotIntervalMs ?? 250,
    },
  );
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port, options.host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const { port } = http.address() as AddressInfo;
  const url = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`;
  options.logger.log('info', 'server:listening', { url, webRoot: options.webRoot ?? null, controls: options.adminToken !== undefined });
  const running = signaling;
  return {
    url,
    http,
    io,
    controller: running.controller,
    close: async () => {
      running.close();
      await io.close();
      http.closeAllConnections();
      if (http.listening) await new Promise<void>((resolve) => http.close(() => resolve()));
      options.logger.log('info', 'server:closed', {});
    },
  };
}
