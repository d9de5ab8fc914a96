/**
 * Observer fan-out: 0 (the baseline, same run), 1, 20 and 100 observers watch while every host
 * reports (links, and a latency report per subscription each second), every host at its byte
 * limit (eight subscriptions with pipelines of about 3.9 KB: 31 KB of the 32 KiB a host may
 * hold). Reports the worst and median /healthz latency during the load, observer deltas
 * received, and server RSS. Target: worst /healthz under 100 ms with 100 observers.
 * Bounded: a fixed number of hosts and observers, a fixed load time; the server is killed at
 * the end whatever happens.
 */
import { summarize } from '@cubecast/overlay';
import { jsonBytes, LIMITS } from '@cubecast/protocol';
import { io, type Socket } from 'socket.io-client';
import { table } from '@cubecast/bench-kit';
import { TEST_VIDEO_CODEC as VIDEO, VirtualHost } from '../src/testing/virtual-host.js';
import { ask, startServerProcess, withDeadline } from './server-process.js';

const HOSTS = 100;
const OBSERVER_COUNTS = [0, 1, 20, 100];
const LOAD_MS = 10_000;
const HEALTH_EVERY_MS = 50;
/** About 3.9 KB of JSON: eight make a host's state reach its limit. */
const BIG_PIPELINE = Array.from({ length: 7 }, () => ({ spa: 'thin', config: { a: 'x'.repeat(256), b: 'y'.repeat(256) } }));

async function run(observerCount: number) {
  const { child, url } = await startServerProcess('cubecast');
  const hosts: VirtualHost[] = [];
  const observers: Socket[] = [];
  try {
    for (let i = 0; i < HOSTS; i++) hosts.push(await new VirtualHost(url).join());
    const channels: string[] = [];
    for (const [p, publisher] of hosts.slice(0, 2).entries()) {
      for (let c = 0; c < LIMITS.maxChannelsPerHost; c++) {
        const name = `ch${p}-${c}`;
        await publisher.request('channel:publish', { name, kind: 'video', codec: VIDEO });
        channels.push(name);
      }
    }
    const subscriptions = new Map<VirtualHost, string[]>();
    await withDeadline(
      'subscribing',
      Promise.all(
        hosts.slice(2).map(async (h) => {
          const ids: string[] = [];
          for (const channel of channels) ids.push((await h.request('subscription:create', { channel, maxLatencyMs: 100, pipeline: BIG_PIPELINE })).subscription.subscriptionId);
          subscriptions.set(h, ids);
        }),
      ),
    );
    let deltas = 0;
    for (let i = 0; i < observerCount; i++) {
      const socket = io(`${url}/observer`, { transports: ['websocket'], reconnection: false, forceNew: true });
      socket.on('observer:delta', () => deltas++);
      observers.push(socket);
      await new Promise<void>((resolve, reject) => {
        socket.once('observer:snapshot', () => resolve());
        socket.once('connect_error', reject);
      });
    }
    const health: number[] = [];
    const end = performance.now() + LOAD_MS;
    const probe = (async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        await fetch(`${url}/healthz`);
        health.push(performance.now() - t0);
        await new Promise((r) => setTimeout(r, HEALTH_EVERY_MS));
      }
    })();
    // Each host reports once a second, spread over the second.
    const reporters = hosts.map(async (h, i) => {
      await new Promise((r) => setTimeout(r, (i * 1000) / HOSTS));
      while (performance.now() < end) {
        const linked = [...new Set(h.neighbours.values())].map((hostId) => ({ hostId, state: 'open' as const, rttMs: 1 + Math.random() * 50, throughputKbps: Math.random() * 1000 }));
        const reports = [h.request('link:report', { links: linked }).catch(() => undefined)];
        for (const subscriptionId of subscriptions.get(h) ?? []) {
          reports.push(h.request('subscription:report', { subscriptionId, latencyMs: Math.random() * 200, hops: 2 }).then(() => undefined, () => undefined));
        }
        await Promise.all(reports);
        await new Promise((r) => setTimeout(r, 1000));
      }
    });
    await withDeadline('the load', Promise.all([probe, ...reporters]));
    const after = await ask(child, 'heap');
    const latency = summarize(health);
    const hostBytes = jsonBytes(channels[0]) + jsonBytes(BIG_PIPELINE);
    return { worst: Math.max(...health), p50: latency.p50, p99: latency.p99, rssMb: after.rss! / 2 ** 20, deltasPerObserver: observerCount ? deltas / observerCount : 0, hostBytes: hostBytes * channels.length };
  } finally {
    for (const o of observers) o.disconnect();
    for (const h of hosts) h.close();
    child.kill();
  }
}

const rows: string[][] = [];
for (const count of OBSERVER_COUNTS) {
  process.stderr.write(`${count} observers...\n`);
  const r = await run(count);
  rows.push([
    count === 0 ? '0 (baseline)' : String(count),
    r.worst.toFixed(1),
    r.p50.toFixed(1),
    r.p99.toFixed(1),
    r.rssMb.toFixed(0),
    count === 0 ? '' : r.deltasPerObserver.toFixed(0),
    count === 100 ? (r.worst < 100 ? 'yes' : 'NO') : '',
  ]);
  if (count === OBSERVER_COUNTS[0]) process.stderr.write(`each subscriber holds ${r.hostBytes} bytes of ${LIMITS.maxHostStateBytes} in the server\n`);
}
console.log(`\nObserver fan-out (node ${process.version}, ${HOSTS} hosts reporting each second, ${LOAD_MS / 1000} s, loopback)\n`);
console.log(table(['observers', 'worst /healthz ms', 'p50 ms', 'p99 ms', 'server RSS MB', 'deltas/observer', 'target (<100 ms)'], rows, 1));
