#!/usr/bin/env node
// isolate.mjs COMMAND [ARGS...]: runs COMMAND inside a private network namespace (loopback plus
// a veth pair and a default route, as ../shared/netns-run does), so WebRTC between browser
// tabs never touches a real interface. On Linux as root it re-runs itself under `unshare -n`;
// elsewhere (or already isolated) it runs COMMAND as it is, with a warning when not isolated.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const [command, ...args] = process.argv.slice(2);
if (!command) {
  console.error('usage: node e2e/isolate.mjs COMMAND [ARGS...]');
  process.exit(2);
}
const isolated = process.env.CUBECAST_NETNS === '1';
const canIsolate = process.platform === 'linux' && process.getuid?.() === 0;

function run(cmd, cmdArgs) {
  removeStaleNamespaces();
  const result = spawnSync(cmd, cmdArgs, { stdio: 'inherit' });
  removeStaleNamespaces();
  if (result.error) {
    console.error(`isolate: could not run ${cmd}: ${result.error.message}`);
    process.exit(2);
  }
  process.exit(result.status ?? 1);
}

/**
 * Removes the namespaces the NAT test network (e2e/net) made, named cc<pid>-..., whose
 * process is gone: a test killed in its teardown leaves them, and they outlive its run.
 * Before the command and after it, isolated or not.
 */
function removeStaleNamespaces() {
  if (process.platform !== 'linux') return;
  const listed = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '';
  for (const name of listed.split('\n').map((line) => line.split(' ')[0])) {
    const pid = /^cc(\d+)-/.exec(name ?? '')?.[1];
    if (pid === undefined) continue;
    try {
      process.kill(Number(pid), 0);
    } catch {
      spawnSync('ip', ['netns', 'del', name]);
    }
  }
}

if (!isolated && canIsolate) {
  const setup = [
    'set -e',
    'ip link set lo up',
    'ip link add veth0 type veth peer name veth1',
    'ip addr add 10.77.0.1/24 dev veth0',
    'ip addr add 10.77.0.2/24 dev veth1',
    'ip link set veth0 up',
    'ip link set veth1 up',
    'ip route add default via 10.77.0.2 dev veth0',
    'export CUBECAST_NETNS=1',
    'exec "$@"',
  ].join('\n');
  run('unshare', ['-n', 'sh', '-c', setup, 'netns', process.execPath, fileURLToPath(import.meta.url), command, ...args]);
}
if (!isolated) console.warn('isolate: not root on Linux, so WebRTC runs on the host network');
run(command, args);
