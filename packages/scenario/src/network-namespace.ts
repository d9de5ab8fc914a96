/**
 * A private network namespace for everything that starts Chromium with WebRTC: loopback plus a
 * veth pair and a default route (Chromium gathers candidates only with one), so peer traffic
 * never touches a real interface. The process re-runs its command under `unshare -n`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { constants } from 'node:os';

/** Set in the namespace's environment: this process already runs isolated. */
export const ISOLATED_ENV = 'CUBECAST_NETNS';

export function isIsolated(): boolean {
  return process.env[ISOLATED_ENV] === '1';
}

/** Linux as root: what `unshare -n`, `ip` and `iptables` need. */
export function canIsolate(): boolean {
  return process.platform === 'linux' && process.getuid?.() === 0;
}

export class IsolationUnavailableError extends Error {
  override readonly name = 'IsolationUnavailableError';
  constructor() {
    super(
      process.platform === 'linux'
        ? 'Chromium runs in a private network namespace, which needs root: run as root (sudo)'
        : `Chromium runs in a private network namespace, which needs Linux (this is ${process.platform})`,
    );
  }
}

const SETUP = [
  'set -e',
  'ip link set lo up',
  'ip link add veth0 type veth peer name veth1',
  'ip addr add 10.77.0.1/24 dev veth0',
  'ip addr add 10.77.0.2/24 dev veth1',
  'ip link set veth0 up',
  'ip link set veth1 up',
  'ip route add default via 10.77.0.2 dev veth0',
  `export ${ISOLATED_ENV}=1`,
  'exec "$@"',
].join('\n');

/**
 * Removes the namespaces the NAT test network made, named cc<pid>-..., whose process is gone:
 * a run killed in its teardown leaves them, and they outlive it.
 */
export function removeStaleNamespaces(): void {
  if (process.platform !== 'linux') return;
  const listed = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '';
  for (const name of listed.split('\n').map((line) => line.split(' ')[0])) {
    const pid = /^cc(\d+)-/.exec(name ?? '')?.[1];
    if (pid === undefined) continue;
    try {
      process.kill(Number(pid), 0);
    } catch {
      spawnSync('ip', ['netns', 'del', name!]);
    }
  }
}

/** `command args` as run: in a new namespace, or as it is when this process is isolated already. */
export function isolatedCommand(command: string, args: readonly string[]): [string, string[]] {
  if (isIsolated()) return [command, [...args]];
  if (!canIsolate()) throw new IsolationUnavailableError();
  return ['unshare', ['-n', 'sh', '-c', SETUP, 'netns', command, ...args]];
}

/**
 * Runs `command` in a private network namespace with this process's stdio, stale NAT
 * namespaces removed before and after; resolves to its exit code. Throws
 * IsolationUnavailableError, before starting anything, when it cannot isolate.
 */
export async function runIsolated(command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [cmd, cmdArgs] = isolatedCommand(command, args);
  removeStaleNamespaces();
  try {
    return await new Promise<number>((resolve, reject) => {
      const child = spawn(cmd, cmdArgs, { stdio: 'inherit', env });
      child.once('error', (error) => reject(new Error(`could not run ${cmd}: ${error.message}`)));
      child.once('exit', (code, signal) => resolve(code ?? 128 + (signal ? constants.signals[signal] : 0)));
    });
  } finally {
    removeStaleNamespaces();
  }
}
