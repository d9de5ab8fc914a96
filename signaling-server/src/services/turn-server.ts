import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { freePort } from './redis-server.js';

/** Debian's coturn: what a deployment runs, and what the tests start. */
export const TURN_SERVER = process.env.CUBECAST_TURN_SERVER ?? '/usr/bin/turnserver';
/** coturn's test client, beside the server. */
export const TURN_CLIENT = join(dirname(TURN_SERVER), 'turnutils_uclient');

export interface TurnProcess {
  readonly port: number;
  /** TURN over TLS (`turns:`), when started with a certificate. */
  readonly tlsPort?: number;
  readonly child: ChildProcess;
  /** What it logged so far (its refusals say why). */
  log(): string;
  stop(): Promise<void>;
}

/**
 * Starts a real coturn on a free loopback port with TURN REST credentials (`use-auth-secret`)
 * checked against `secret`, relaying on loopback only, its files in a directory of its own.
 * With `tls` (a PEM certificate and key) it serves TURN over TLS on a port of its own too.
 * Resolves once its servers are up; `stop` ends it and removes the directory.
 */
export async function startTurn(secret: string, listeningIp = '127.0.0.1', tls?: { readonly cert: string; readonly key: string }): Promise<TurnProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'cubecast-turn-'));
  const port = await freePort();
  const tlsPort = tls ? await freePort() : undefined;
  const relayPort = 40_000 + (port % 20_000);
  if (tls) {
    writeFileSync(join(dir, 'cert.pem'), tls.cert);
    writeFileSync(join(dir, 'key.pem'), tls.key, { mode: 0o600 });
  }
  const config = [
    `listening-ip=${listeningIp}`,
    `relay-ip=${listeningIp}`,
    `listening-port=${port}`,
    `min-port=${relayPort}`,
    `max-port=${relayPort + 99}`,
    'use-auth-secret',
    `static-auth-secret=${secret}`,
    'realm=cubecast.test',
    'fingerprint',
    ...(tls ? [`tls-listening-port=${tlsPort}`, `cert=${join(dir, 'cert.pem')}`, `pkey=${join(dir, 'key.pem')}`] : ['no-tls']),
    'no-dtls',
    'no-cli',
    // The tests' peers are on loopback, which coturn refuses to relay to by default.
    'allow-loopback-peers',
    'simple-log',
    'log-file=stdout',
    `pidfile=${join(dir, 'turnserver.pid')}`,
    `userdb=${join(dir, 'turndb')}`,
  ];
  writeFileSync(join(dir, 'turnserver.conf'), `${config.join('\n')}\n`);
  const child = spawn(TURN_SERVER, ['-c', join(dir, 'turnserver.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
  // If this process dies without stop() (a test runner killing a timed-out worker), coturn
  // must not outlive it: a watchdog ends it then.
  spawn('sh', ['-c', 'while kill -0 "$0" 2>/dev/null; do sleep 1; done; kill "$1" 2>/dev/null; rm -rf "$2"', String(process.pid), String(child.pid), dir], { detached: true, stdio: 'ignore' }).unref();
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const ready = await new Promise<boolean>((resolve) => {
    const check = setInterval(() => {
      if (output.includes('Total General servers')) done(true);
    }, 20);
    const deadline = setTimeout(() => done(false), 10_000);
    const done = (ok: boolean) => {
      clearInterval(check);
      clearTimeout(deadline);
      resolve(ok);
    };
    child.once('exit', () => done(false));
    child.once('error', () => done(false));
  });
  if (!ready) {
    await stop();
    throw new Error(`coturn (${TURN_SERVER}) did not start:\n${output.slice(-2000)}`);
  }
  return { port, ...(tlsPort !== undefined && { tlsPort }), child, log: () => output, stop };
}
