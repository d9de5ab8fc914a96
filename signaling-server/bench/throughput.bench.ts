/**
 * Per-node event throughput with and without Redis: `npm run bench:throughput -w
 * signaling-server` (also part of `npm run bench`).
 *
 * 100 virtual hosts join one room, then each sends events one after another (waiting for each
 * ack) for a fixed time, all hosts at once: a write (`link:report`, which changes the room and
 * so, with Redis, is answered only once saved) and a read (`channel:list`). Three setups, in
 * the same run: one node in memory (the baseline); one node with Redis, hosts on the room's
 * owner; two nodes with Redis, hosts on the node that does not own the room (every event
 * crosses Redis to the owner and back). Reports events/s and the ratio to the baseline.
 */
import type { ChildProcess } from 'node:child_process';
import { table } from '@cubecast/bench-kit';
import { summarize } from '@cubecast/overlay';
import { startRedis } from '../src/services/redis-server.js';
import { VirtualHost } from '../src/testing/virtual-host.js';
import { startServerProcess, withDeadline } from './server-process.js';

const HOSTS = 100;
const SECONDS = 5;
const ROUNDS = 3;
type Setup = 'memory' | 'redis, on the owner' | 'redis, through a gateway';
const EVENTS = ['link:report', 'channel:list'] as const;
type EventName = (typeof EVENTS)[number];

/** Events acked per second over SECONDS, all hosts sending one after another. */
async function rate(hosts: VirtualHost[], event: EventName): Promise<number> {
  let acked = 0;
  const until = performance.now() + SECONDS * 1000;
  await Promise.all(
    hosts.map(async (host) => {
      while (performance.now() < until) {
        await (event === 'link:report' ? host.request(event, { links: [] }) : host.request(event, {}));
        acked++;
      }
    }),
  );
  return acked / SECONDS;
}

async function measure(setup: Setup, redisUrl: string, prefix: number): Promise<Record<EventName, number[]>> {
  const children: ChildProcess[] = [];
  const hosts: VirtualHost[] = [];
  try {
    let url: string;
    if (setup === 'memory') {
      const node = await startServerProcess('cubecast');
      children.push(node.child);
      url = node.url;
    } else {
      // Each setup its own Redis key space: node names are unique per run.
      const owner = await startServerProcess('cluster', redisUrl, `throughput-${prefix}-owner`);
      children.push(owner.child);
      // The first join makes its node the room's owner.
      const first = new VirtualHost(owner.url);
      hosts.push(await first.join());
      url = owner.url;
      if (setup === 'redis, through a gateway') {
        const gateway = await startServerProcess('cluster', redisUrl, `throughput-${prefix}-gateway`);
        children.push(gateway.child);
        url = gateway.url;
      }
    }
    for (let i = hosts.length; i < HOSTS; i++) hosts.push(await new VirtualHost(url).join());
    const rates: Record<EventName, number[]> = { 'link:report': [], 'channel:list': [] };
    for (let round = 0; round < ROUNDS; round++) {
      for (const event of EVENTS) rates[event].push(await withDeadline(`${setup} ${event}`, rate(hosts, event)));
    }
    return rates;
  } finally {
    for (const host of hosts) host.close();
    for (const child of children) child.kill('SIGKILL');
  }
}

const redis = await startRedis();
try {
  const rows: string[][] = [];
  const baseline: Partial<Record<EventName, number>> = {};
  let prefix = 0;
  for (const setup of ['memory', 'redis, on the owner', 'redis, through a gateway'] as const) {
    process.stderr.write(`${setup}...\n`);
    const rates = await measure(setup, redis.url, ++prefix);
    for (const event of EVENTS) {
      const median = summarize(rates[event]).p50;
      if (setup === 'memory') baseline[event] = median;
      rows.push([setup === 'memory' ? 'memory (baseline)' : setup, event, Math.round(median).toString(), rates[event].map((r) => Math.round(r)).join(' / '), setup === 'memory' ? 'baseline' : `${(median / baseline[event]!).toFixed(2)}x`]);
    }
  }
  console.log(`Per-node event throughput (node ${process.version}, ${HOSTS} hosts each sending one event after another for ${SECONDS} s, ${ROUNDS} rounds, loopback)\n`);
  console.log(table(['setup', 'event', 'events/s (median)', 'rounds', 'vs memory'], rows, 2));
  console.log('\nlink:report changes the room: with Redis it is answered once the room is saved (saves are shared by the events waiting for them). channel:list changes nothing.');
} finally {
  await redis.stop();
}
