import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { hostname, networkInterfaces } from 'node:os';
import { dirname, join } from 'node:path';
import {
  DEFAULT_CONTROLLER_CONFIG,
  DEFAULT_SERVER_LIMITS,
  IceConfigError,
  iceSettingsFromEnv,
  makeSelfSignedCertificate,
  readTlsFiles,
  TlsConfigError,
  isSwapStrategy,
  jsonLogger,
  RedisUnreachableError,
  startServer,
  type IceSettings,
  type RunningServer,
  type TlsCredentials,
} from '@cubecast/signaling-server';
import { ALGORITHM_NAMES, isAlgorithmName, roomNameSchema, type AlgorithmName } from '@cubecast/protocol';
import { integerArg, parse, UsageError } from './args.js';
import type { Io } from './io.js';

const SERVE_HELP = `Usage: cubecast serve [options]

Runs the Cubecast server: the web app and its API on one port, state in memory.
Each room is an overlay of its own: / is the room "default", /r/<room> the room <room>.
With --redis (or $REDIS_URL) rooms live in Redis: they outlive the process, and several
server nodes on one Redis serve the same rooms behind one URL (docs/deploy.md).

Options:
  --port <port>        port to listen on (default $PORT or 8080; 0 picks a free one)
  --host <address>     address to bind (default $HOST or 127.0.0.1)
  --web-root <dir>     built web app to serve (default the apps/web build, built first if missing)
  --algorithm <name>   the overlay algorithm every room runs: ${ALGORITHM_NAMES.join(' | ')} (default cube)
  --algorithm <room>=<name>
                       the one room <room> runs (again for more rooms; docs/algorithms.md)
  --swap-depth <D>     how far from a publisher a swap may look, in logical hops (default ${DEFAULT_CONTROLLER_CONFIG.swapDepth})
  --swap-strategy <s>  depth (the slides' rule, default) | fig5 (the paper's) | best (exhaustive within D,
                       at most ${DEFAULT_CONTROLLER_CONFIG.swapBudget} positions a decision)
  --redis <url>        keep rooms in this Redis (redis://host:port; default $REDIS_URL)
  --node <name>        this node's name among several (default host-pid-random)
  --tls-cert <file>    serve HTTPS with this PEM certificate (default $TLS_CERT) ...
  --tls-key <file>     ... and its PEM key (default $TLS_KEY)
  --tls self-signed    serve HTTPS with a certificate made now, for a LAN demo: it prints the
                       certificate's fingerprint, which people compare before accepting it
  --max-connections-per-address <n>
                       socket.io connections one remote address may hold (default 64; raise it
                       behind a reverse proxy, where every client shares the proxy's address)

Environment:
  CUBECAST_ADMIN_TOKEN  enables observer controls for observers that present it
  CUBECAST_OBSERVER_TOKEN
                        the observer page (/observer) shows the overlay only to those
                        that present it (or the admin token); unset, anyone may watch
  REDIS_URL             as --redis
  CUBECAST_ICE_SERVERS  STUN/TURN servers for the tabs' connections, a JSON array of
                        RTCIceServer, e.g. [{"urls":"stun:stun.example.org:3478"}]
  CUBECAST_TURN_URLS    TURN servers (turn:/turns: URLs, comma-separated) whose credentials
  CUBECAST_TURN_SECRET    are made per tab from this secret (coturn's static-auth-secret);
  CUBECAST_TURN_TTL       they last this many seconds (default 86400)
  CUBECAST_ICE_POLICY   relay: every connection through TURN (default all)
Without ICE servers, tabs link only within one network (docs/deploy.md).
Logs are JSON lines on stderr. SIGTERM drains (with Redis: hands this node's rooms to the
other nodes, then closes); SIGINT stops at once.`;

export async function serveCommand(args: string[], io: Io): Promise<number> {
  const options = parse(
    args,
    {
      port: { type: 'string' },
      host: { type: 'string' },
      'web-root': { type: 'string' },
      algorithm: { type: 'string', multiple: true },
      'swap-depth': { type: 'string', default: String(DEFAULT_CONTROLLER_CONFIG.swapDepth) },
      'swap-strategy': { type: 'string', default: 'depth' },
      'max-connections-per-address': { type: 'string', default: String(DEFAULT_SERVER_LIMITS.maxConnectionsPerAddress) },
      redis: { type: 'string' },
      node: { type: 'string' },
      tls: { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
    },
    'serve',
  );
  if (options.help) {
    io.out(SERVE_HELP);
    return 0;
  }
  if (options.positionals.length > 0) throw new UsageError(`serve takes options only, got "${options.positionals[0]}"`);
  const port = integerArg(options.string('port') ?? process.env.PORT ?? '8080', '--port', 0, 65535);
  const host = options.string('host') ?? process.env.HOST ?? '127.0.0.1';
  const webRoot = options.string('web-root') ?? defaultWebRoot();
  const { algorithm, roomAlgorithms } = algorithmChoice(options.strings('algorithm'));
  const swapDepth = integerArg(options.string('swap-depth'), '--swap-depth', 0, 8);
  const swapStrategy = options.string('swap-strategy')!;
  if (!isSwapStrategy(swapStrategy)) throw new UsageError(`--swap-strategy must be depth, fig5 or best, got "${swapStrategy}"`);
  const maxConnectionsPerAddress = integerArg(options.string('max-connections-per-address'), '--max-connections-per-address', 1, 1_000_000);
  const adminToken = process.env.CUBECAST_ADMIN_TOKEN || undefined;
  const observerToken = process.env.CUBECAST_OBSERVER_TOKEN || undefined;
  const redisUrl = options.string('redis') ?? (process.env.REDIS_URL || undefined);
  if (redisUrl !== undefined && !/^rediss?:\/\/[^\s]+$/.test(redisUrl)) throw new UsageError(`--redis must be a redis:// or rediss:// URL, got "${redisUrl}"`);
  const node = options.string('node');
  if (node !== undefined && !/^[\w.-]{1,100}$/.test(node)) throw new UsageError(`--node must be 1 to 100 letters, digits, dots, dashes or underscores, got "${node}"`);
  const tls = await tlsCredentials(options.string('tls'), options.string('tls-cert') ?? (process.env.TLS_CERT || undefined), options.string('tls-key') ?? (process.env.TLS_KEY || undefined), host);
  let ice: IceSettings;
  try {
    ice = iceSettingsFromEnv(process.env);
  } catch (error) {
    if (error instanceof IceConfigError) throw new UsageError(error.message);
    throw error;
  }
  const customRoot = options.string('web-root') !== undefined;
  if (!existsSync(join(webRoot, 'index.html'))) {
    if (customRoot) throw new UsageError(`no index.html in --web-root ${webRoot}`);
    io.out('cubecast: building the web app (first run)...');
    const build = spawnSync('npm', ['run', 'build'], { cwd: repositoryRoot(), stdio: 'inherit' });
    if (build.status !== 0) throw new Error('the web app build failed (see above)');
  }
  let server: RunningServer;
  try {
    server = await startServer({
      port,
      host,
      webRoot,
      adminToken,
      observerToken,
      controller: { swapDepth, swapStrategy, ...(algorithm && { algorithm }) },
      roomAlgorithms,
      limits: { maxConnectionsPerAddress },
      ice,
      ...(tls && { tls }),
      logger: jsonLogger((line) => io.err(line)),
      ...(redisUrl !== undefined && { redis: { url: redisUrl } }),
      ...(node !== undefined && { node }),
    });
  } catch (error) {
    if (!(error instanceof RedisUnreachableError)) throw error;
    io.err(`cubecast: ${error.message}`);
    return 1;
  }
  io.out(`Cubecast is serving the web app at ${server.url}`);
  io.out(`  observer: ${server.url}/observer (watching ${observerToken ? 'needs CUBECAST_OBSERVER_TOKEN' : 'open'}; controls ${adminToken ? 'need CUBECAST_ADMIN_TOKEN' : 'off: set CUBECAST_ADMIN_TOKEN'})`);
  io.out(`  TLS: ${tls ? `certificate for ${tls.subjectAltName}, valid until ${tls.validTo}, SHA-256 fingerprint ${tls.fingerprint256}` : 'none: pages on addresses other than localhost get no camera (--tls-cert/--tls-key, or --tls self-signed)'}`);
  if (options.string('tls') === 'self-signed') io.out('       (self-signed: browsers warn until a person accepts it; compare the fingerprint above with the one the browser shows)');
  io.out(`  ICE: ${describeIce(ice)}`);
  io.out(`  state: ${redisUrl ? `rooms in Redis at ${redisUrl.replace(/\/\/[^@/]*@/, '//***@')}` : 'in memory'}`);
  io.out(`  health: ${server.url}/healthz, metrics: ${server.url}/metrics. Ctrl-C stops it.`);
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      (signal === 'SIGTERM' ? server.drain() : server.close()).then(resolve, resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  return 0;
}

/** `--algorithm NAME` (every room) and `--algorithm ROOM=NAME` (one room), each name one built in. */
function algorithmChoice(values: string[]): { algorithm?: AlgorithmName; roomAlgorithms: Map<string, AlgorithmName> } {
  let algorithm: AlgorithmName | undefined;
  const roomAlgorithms = new Map<string, AlgorithmName>();
  for (const value of values) {
    const [room, name] = value.includes('=') ? [value.slice(0, value.indexOf('=')), value.slice(value.indexOf('=') + 1)] : [undefined, value];
    if (!isAlgorithmName(name)) throw new UsageError(`--algorithm must name one of ${ALGORITHM_NAMES.join(', ')}, got "${name}"`);
    if (room === undefined) {
      if (algorithm !== undefined) throw new UsageError(`--algorithm without a room is given twice ("${algorithm}", "${name}")`);
      algorithm = name;
    } else {
      if (!roomNameSchema.safeParse(room).success) throw new UsageError(`--algorithm ${value}: "${room}" is not a room name`);
      if (roomAlgorithms.has(room)) throw new UsageError(`--algorithm names room "${room}" twice`);
      roomAlgorithms.set(room, name);
    }
  }
  return { ...(algorithm && { algorithm }), roomAlgorithms };
}

function defaultWebRoot(): string {
  return join(dirname(createRequire(import.meta.url).resolve('@cubecast/web/package.json')), 'dist');
}

function repositoryRoot(): string {
  return join(dirname(createRequire(import.meta.url).resolve('@cubecast/web/package.json')), '..', '..');
}

/** The ICE servers hosts get, without credentials or the secret. */
function describeIce(ice: IceSettings): string {
  const urls = [...ice.iceServers.flatMap((server) => [server.urls].flat()), ...(ice.turn?.urls ?? [])];
  if (urls.length === 0) return 'none: tabs link only within one network (set CUBECAST_ICE_SERVERS or CUBECAST_TURN_URLS)';
  const turn = ice.turn ? `; TURN credentials per tab, valid ${ice.turn.ttlSeconds} s` : '';
  return `${urls.join(', ')}${turn}${ice.iceTransportPolicy === 'relay' ? '; relayed connections only' : ''}`;
}

/** The certificate to serve HTTPS with: files, one made now (`--tls self-signed`), or none. */
async function tlsCredentials(mode: string | undefined, certPath: string | undefined, keyPath: string | undefined, host: string): Promise<TlsCredentials | undefined> {
  if (mode !== undefined && mode !== 'self-signed') throw new UsageError(`--tls takes self-signed only (files go in --tls-cert and --tls-key), got "${mode}"`);
  if (mode !== undefined && (certPath !== undefined || keyPath !== undefined)) throw new UsageError('--tls self-signed makes its own certificate: give it or --tls-cert/--tls-key, not both');
  if ((certPath === undefined) !== (keyPath === undefined)) throw new UsageError(`--tls-cert and --tls-key go together (${certPath === undefined ? '--tls-cert' : '--tls-key'} is missing)`);
  try {
    if (certPath !== undefined) return readTlsFiles(certPath, keyPath!);
    if (mode === 'self-signed') return await makeSelfSignedCertificate(certificateNames(host));
  } catch (error) {
    if (error instanceof TlsConfigError) throw new UsageError(error.message);
    throw error;
  }
  return undefined;
}

/** What a LAN demo's certificate is valid for: this machine's names and addresses people may type. */
function certificateNames(host: string): string[] {
  const everywhere = host === '0.0.0.0' || host === '::';
  const addresses = everywhere ? Object.values(networkInterfaces()).flatMap((nets) => (nets ?? []).map((net) => net.address.replace(/%.*$/, ''))) : [host];
  return [...new Set(['localhost', hostname(), '127.0.0.1', '::1', ...addresses])];
}
