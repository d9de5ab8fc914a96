import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type RequestListener, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createSecureServer } from 'node:http2';
import type { Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { DEFAULT_ROOM, LIMITS, type AlgorithmName } from '@cubecast/protocol';
import { Server as SocketServer } from 'socket.io';
import { createSpaModuleHandler, DEFAULT_SPA_MODULE_LIMITS, type SpaModuleLimits } from './http/spa-modules.js';
import { createStaticHandler, ISOLATION_HEADERS } from './http/static-files.js';
import { NO_ICE_SERVERS, type IceSettings } from './ice-config.js';
import type { Logger } from './log.js';
import { DEFAULT_CONTROLLER_CONFIG, OverlayController, type ControllerConfig, type Outbox } from './overlay-controller.js';
import type { RateLimit } from './rate-limiter.js';
import { ClusterRoomDirectory } from './cluster/cluster-directory.js';
import { DEFAULT_REDIS_ROOMS_OPTIONS, type RedisRoomsOptions } from './cluster/redis-rooms.js';
import { LocalRoomDirectory } from './room-directory.js';
import type { Room } from './room.js';
import { Signaling } from './signaling.js';
import type { Store } from './store.js';

export interface ServerOptions {
  /** 0 picks a free port (tests). */
  readonly port: number;
  readonly host: string;
  /** Folder of the built web app; without one, only the API is served. */
  readonly webRoot?: string;
  readonly logger: Logger;
  /** Observer controls need it; undefined turns them off. */
  readonly adminToken?: string | undefined;
  /** Watching the observer feed needs it (or the admin token); undefined leaves watching open. */
  readonly observerToken?: string | undefined;
  readonly rateLimit?: RateLimit;
  readonly controller?: Partial<ControllerConfig>;
  /** Rooms that run another overlay algorithm than `controller.algorithm` (every node of a deployment alike). */
  readonly roomAlgorithms?: ReadonlyMap<string, AlgorithmName>;
  readonly snapshotIntervalMs?: number;
  readonly limits?: Partial<ServerLimits>;
  /** This process's name among several server nodes; a unique one is made when absent. */
  readonly node?: string;
  /**
   * Keep rooms in Redis (REDIS_URL): their state outlives this process, and several server
   * nodes sharing one Redis serve the same rooms (docs/deploy.md).
   */
  readonly redis?: { readonly url: string; readonly requestTimeoutMs?: number } & Partial<RedisRoomsOptions>;
  /** STUN and TURN servers for the hosts' connections (none: hosts link on one network only). */
  readonly ice?: IceSettings;
  /**
   * Serve HTTPS (the app, socket.io, uploads) with this certificate and key, PEM: a page is a
   * secure context (camera, SharedArrayBuffer) on any address only over HTTPS.
   */
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer };
}

/** What one server takes at most; docs/security.md gives each one's reason. */
export interface ServerLimits {
  /** Observers connected at once. */
  readonly maxObservers: number;
  /**
   * socket.io connections (hosts and observers) from one remote address at once. A household
   * or an office behind one NAT shares an address, so it is generous; tests and benchmarks
   * that open thousands of clients from loopback raise it.
   */
  readonly maxConnectionsPerAddress: number;
  /** Unsent bytes one socket may hold before it is dropped as a client that stopped reading. */
  readonly maxBufferedBytesPerSocket: number;
  /** Rooms held at once: each costs a controller and its state, made by whoever names one. */
  readonly maxRooms: number;
  readonly spaModules: SpaModuleLimits;
}

export const DEFAULT_SERVER_LIMITS: ServerLimits = {
  maxObservers: 200,
  maxConnectionsPerAddress: 64,
  maxBufferedBytesPerSocket: 8 * 1024 * 1024,
  maxRooms: 1000,
  spaModules: DEFAULT_SPA_MODULE_LIMITS,
};

export interface RunningServer {
  readonly url: string;
  readonly http: HttpServer;
  readonly io: SocketServer;
  /** The default room's controller. */
  readonly controller: OverlayController;
  /** A room's controller, if the room exists now. */
  room(name: string): OverlayController | undefined;
  close(): Promise<void>;
  /**
   * Closes after handing this node's rooms to other nodes (SIGTERM): their state saved, their
   * leases given back, this node marked gone so its hosts' tabs are waited for elsewhere.
   */
  drain(): Promise<void>;
}

export const DEFAULT_RATE_LIMIT: RateLimit = { burst: 600, perSecond: 200 };

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const limits = { ...DEFAULT_SERVER_LIMITS, ...options.limits };
  const serveStatic = options.webRoot ? createStaticHandler(options.webRoot) : undefined;
  const startedAt = Date.now();
  let signaling: Signaling | undefined;
  const controllers = () => [...(signaling?.directory.owned() ?? new Map<string, Room>())].map(([name, room]) => [name, room.controller] as const);
  /** Connections the per-address cap refused: the server's, before any room is known. */
  let connectionsRefused = 0;
  const spaModules = createSpaModuleHandler(
    {
      // Host ids are a room's own: an uploader is known by room and host.
      hostOfSession: (token) => {
        for (const [room, controller] of controllers()) {
          const hostId = controller.hostOfSession(token);
          if (hostId) return `${room}/${hostId}`;
        }
        return undefined;
      },
      spaInUse: (spa) => controllers().some(([, controller]) => controller.spaInUse(spa)),
    },
    options.logger,
    limits.spaModules,
  );
  const fail = (req: IncomingMessage, res: ServerResponse, error: unknown) => {
    options.logger.log('error', 'http:error', { url: req.url, error: error instanceof Error ? error.stack : String(error) });
    if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end('internal error');
    else res.destroy();
  };
  const handle: RequestListener = (req, res) => {
    // A reset connection mid-response is the client's business, not the server's.
    req.on('error', () => undefined);
    res.on('error', () => undefined);
    try {
      route(req, res);
    } catch (error) {
      fail(req, res, error);
    }
  };
  // Over TLS, HTTP/2 (the app's files and socket.io's polling share one connection) with
  // HTTP/1.1 beside it: socket.io's WebSocket upgrade is HTTP/1.1's, and not every client
  // speaks HTTP/2. socket.io documents running on this server.
  const http: HttpServer = options.tls
    ? (createSecureServer({ cert: options.tls.cert, key: options.tls.key, allowHTTP1: true }, handle as unknown as Parameters<typeof createSecureServer>[1]) as unknown as HttpServer)
    : createServer(handle);
  // HTTP/2's server has no closeAllConnections(): close() ends the sockets it keeps here.
  const sockets = new Set<Socket>();
  http.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  // A client that fails its TLS handshake (a browser refusing a self-signed certificate) is no fault of the server's.
  http.on('tlsClientError', (error: Error) => options.logger.log('info', 'tls:handshake-failed', { error: error.message.split('\n')[0] }));
  /** The server's totals over its rooms, and each room's cube. */
  const metrics = () => {
    const stores = controllers().map(([room, controller]) => [room, controller.store] as const);
    const sum = (of: (store: Store) => number) => stores.reduce((total, [, store]) => total + of(store), 0);
    const totals: Record<string, number> = {};
    for (const [, store] of stores) for (const [key, value] of Object.entries(store.counters)) totals[key] = (totals[key] ?? 0) + value;
    totals.slowSocketsDropped = signaling?.slowSocketsDropped ?? 0;
    return {
      rooms: stores.length,
      hosts: sum((store) => store.hosts.size),
      channels: sum((store) => store.channels.size),
      subscriptions: sum((store) => store.subscriptions.size),
      cubes: Object.fromEntries(stores.filter(([, store]) => store.cube).map(([room, store]) => [room, { k: store.cube!.cube.k, n: store.cube!.cube.n, epoch: store.cube!.epoch }])),
      heapUsedBytes: process.memoryUsage().heapUsed,
      ...totals,
      connectionsRefused,
      node,
    };
  };
  const route = (req: IncomingMessage, res: ServerResponse): void => {
    for (const [name, value] of Object.entries(ISOLATION_HEADERS)) res.setHeader(name, value);
    if (spaModules(req, res)) return;
    if (req.url === '/healthz' || req.url === '/metrics') {
      const body = req.url === '/healthz' ? { ok: true, uptimeSeconds: Math.round((Date.now() - startedAt) / 1000) } : metrics();
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
      res.end(JSON.stringify(body));
      return;
    }
    if (!serveStatic) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found');
      return;
    }
    serveStatic(req, res).catch((error: unknown) => fail(req, res, error));
  };
  const connections = new Map<string, number>();
  const io = new SocketServer(http, {
    serveClient: false,
    // Past this socket.io drops the connection; below it, payloads over the protocol's own
    // limit get a BAD_PAYLOAD ack.
    maxHttpBufferSize: LIMITS.maxPayloadBytes * 4,
    // socket.io's defaults (they were 10 s and 10 s): a node whose event loop is held for
    // seconds (a re-embedding of 59050 hosts on a loaded machine) runs its due pong timers
    // before it reads the pongs waiting, and fails live sockets; in one slow run of
    // bench:cluster 1569 hosts went at once that way, most likely. A tab that goes silent
    // is still found within 45 s; one that closes, at once.
    pingInterval: 25_000,
    pingTimeout: 20_000,
    // Checked at each new engine.io session (not at every polling request).
    allowRequest: (req, callback) => {
      const address = req.socket.remoteAddress ?? '';
      if ((connections.get(address) ?? 0) < limits.maxConnectionsPerAddress) return callback(null, true);
      connectionsRefused++;
      options.logger.log('warn', 'connection:refused', { address, reason: 'too many connections from one address' });
      callback(`more than ${limits.maxConnectionsPerAddress} connections from one address`, false);
    },
  });
  io.engine.on('connection', (conn: { remoteAddress: string; once(event: 'close', listener: () => void): void }) => {
    const address = conn.remoteAddress;
    connections.set(address, (connections.get(address) ?? 0) + 1);
    conn.once('close', () => {
      const left = (connections.get(address) ?? 1) - 1;
      if (left > 0) connections.set(address, left);
      else connections.delete(address);
    });
  });
  const node = options.node ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const gateway = new Signaling(io, node, {
    adminToken: options.adminToken,
    observerToken: options.observerToken,
    rateLimit: options.rateLimit ?? DEFAULT_RATE_LIMIT,
    logger: options.logger,
    maxObservers: limits.maxObservers,
    maxBufferedBytesPerSocket: limits.maxBufferedBytesPerSocket,
    ice: options.ice ?? NO_ICE_SERVERS,
  });
  signaling = gateway;
  const guard = (where: string, work: () => void) => {
    try {
      work();
    } catch (error) {
      options.logger.log('error', 'server:fault', { where, error: error instanceof Error ? error.stack : String(error) });
    }
  };
  const rooms = {
    logger: options.logger,
    snapshotIntervalMs: options.snapshotIntervalMs ?? 250,
    guard,
    createController: (outbox: Outbox, store: Store, room: string) => {
      const algorithm = options.roomAlgorithms?.get(room) ?? options.controller?.algorithm ?? DEFAULT_CONTROLLER_CONFIG.algorithm;
      return new OverlayController(store, outbox, { ...DEFAULT_CONTROLLER_CONFIG, ...options.controller, algorithm });
    },
    maxRooms: limits.maxRooms,
  };
  try {
    gateway.directory = options.redis
      ? await ClusterRoomDirectory.start(gateway, options.redis.url, {
          ...rooms,
          rooms: { ...DEFAULT_REDIS_ROOMS_OPTIONS, ...options.redis },
          requestTimeoutMs: options.redis.requestTimeoutMs ?? 10_000,
        })
      : new LocalRoomDirectory(gateway, { ...rooms, keep: DEFAULT_ROOM });
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(options.port, options.host, () => {
        http.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    gateway.close();
    await gateway.directory?.close();
    await io.close();
    throw error;
  }
  const { port } = http.address() as AddressInfo;
  const url = `${options.tls ? 'https' : 'http'}://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`;
  options.logger.log('info', 'server:listening', { url, webRoot: options.webRoot ?? null, controls: options.adminToken !== undefined });
  let closing: Promise<void> | undefined;
  const close = async (drain: boolean) => {
    // Disconnects from here on are the server going, not hosts leaving.
    gateway.close();
    if (drain) await gateway.directory.drain();
    await gateway.directory.close();
    // socket.io's close() says goodbye to its clients, then waits for the HTTP server to close,
    // which HTTP/2 does only once its sessions end: they are ended meanwhile.
    const ioClosed = io.close();
    for (const socket of sockets) socket.destroy();
    await ioClosed;
    if (http.listening) await new Promise<void>((resolve) => http.close(() => resolve()));
    options.logger.log('info', 'server:closed', {});
  };
  return {
    url,
    http,
    io,
    get controller() {
      const room = gateway.directory.owned().get(DEFAULT_ROOM);
      if (!room) throw new Error('this server node does not own the default room now');
      return room.controller;
    },
    room: (name) => gateway.directory.owned().get(name)?.controller,
    // Once: a test that restarts a server closes it itself, and its fixture again after.
    close: () => (closing ??= close(false)),
    drain: () => (closing ??= close(true)),
  };
}
