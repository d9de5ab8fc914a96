/**
 * One server node in a process of its own, for tests that kill, pause or drain real processes:
 * `node --import tsx server-node.ts <redis-url> <node-name> [leaseMs]`. Prints `{"url": ...}`
 * on stdout once listening; SIGTERM drains, SIGKILL and SIGSTOP are what they are.
 */
import { silentLogger } from '../log.js';
import { startServer } from '../server.js';

const [redisUrl, node, leaseMs = '2000'] = process.argv.slice(2);
if (!redisUrl || !node) {
  process.stderr.write('usage: server-node.ts <redis-url> <node-name> [leaseMs]\n');
  process.exit(2);
}
const server = await startServer({
  port: 0,
  host: '127.0.0.1',
  logger: silentLogger,
  node,
  redis: { url: redisUrl, leaseMs: Number(leaseMs), nodeTtlMs: Number(leaseMs), requestTimeoutMs: 2000 },
  limits: { maxConnectionsPerAddress: 100_000 },
});
process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
process.once('SIGTERM', () => void server.drain().then(() => process.exit(0)));
