#!/usr/bin/env node
// Runs the Playwright specs. On Linux as root it first re-runs itself inside a private network
// namespace (loopback plus a veth pair and a default route, as ../shared/netns-run does), so
// WebRTC between the tabs never touches a real interface. Elsewhere it runs as it is.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const args = process.argv.slice(2);
const isolated = process.env.CUBECAST_NETNS === '1';
const canIsolate = process.platform === 'linux' && process.getuid?.() === 0;

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
  const result = spawnSync('unshare', ['-n', 'sh', '-c', setup, 'netns', process.execPath, fileURLToPath(import.meta.url), ...args], { stdio: 'inherit' });
  if (result.error) {
    console.error(`e2e: could not create a private network namespace (${result.error.message}); needs unshare and ip`);
    process.exit(2);
  }
  process.exit(result.status ?? 1);
}
if (!isolated) console.warn('e2e: not root on Linux, so WebRTC runs on the host network');

const playwright = fileURLToPath(new URL('../node_modules/@playwright/test/cli.js', import.meta.url));
const result = spawnSync(process.execPath, [playwright, 'test', '-c', `${here}playwright.config.ts`, ...args], { stdio: 'inherit' });
process.exit(result.status ?? 1);
