/**
 * One room at the paper's scale across several server nodes: `npm run bench:cluster -w
 * signaling-server` (also the last part of `npm run bench`).
 *
 * 65536 virtual hosts join one room through 4 gateway processes sharing one Redis (Debian's
 * redis-server, started here on a free port), from 4 client processes (one per gateway).
 * Reports how long the joins took, join latency p50/p99 (connect to own ids), server heap per
 * host (all 4 nodes, after a full GC, over their heap before any host), and whether every id
 * of the cube is owned exactly once, as the owner holds it and as the hosts see it. Target:
 * joined in under 5 minutes. Bounded: each phase has a deadline; every process is stopped at
 * the end whatever happens (killed if it does not exit within 10 s). `CUBECAST_CLUSTER_HOSTS` sets another count (a multiple of 4).
 */
import type { ChildProcess } from 'node:child_process';
import { summarize } from '@cubecast/overlay';
import { table } from '@cubecast/bench-kit';
import { startRedis } from '../src/services/redis-server.js';
import { ask, startClientProcess, startServerProcess, stopAll, withDeadline, type Reply } from './server-process.js';

const HOSTS = Number(process.env.CUBECAST_CLUSTER_HOSTS ?? 65536);
const NODES = 4;
const JOIN_DEADLINE_MS = 10 * 60_000;

interface ClientReply {
  type: string;
  latencies?: number[];
  retries?: number;
  error?: string;
  views?: [string, number[]][];
  epochs?: number[];
}

const request = (child: ChildProcess, type: string) => ask<ClientReply>(child, type);

/** How the hosts' own views cover the ids 0..M-1: exact when every id is held by exactly one host. */
function coverage(views: [string, number[]][], M: number): { missing: number; twice: number; outside: number } {
  const seen = new Uint8Array(M);
  let twice = 0;
  let outside = 0;
  for (const [, ids] of views) {
    for (const id of ids) {
      if (id >= M) outside++;
      else if (seen[id] === 1) twice++;
      else seen[id] = 1;
    }
  }
  return { missing: seen.filter((x) => x === 0).length, twice, outside };
}

const redis = await startRedis();
const children: ChildProcess[] = [];
try {
  const nodes: { child: ChildProcess; url: string }[] = [];
  for (let i = 0; i < NODES; i++) {
    const node = await startServerProcess('cluster', redis.url, `bench-node-${i + 1}`);
    children.push(node.child);
    nodes.push(node);
  }
  const heapBefore = (await Promise.all(nodes.map((n) => ask(n.child, 'heap')))).reduce((sum, r) => sum + r.heapUsed!, 0);
  // The room's owner is the first node a join reaches: one host joins there first.
  const clients: ChildProcess[] = [];
  for (const [i, node] of nodes.entries()) {
    const client = await startClientProcess(node.url, HOSTS / NODES);
    children.push(client);
    clients.push(client);
    process.stderr.write(`client process ${i + 1} for ${node.url}\n`);
  }
  process.stderr.write(`${HOSTS} hosts joining through ${NODES} nodes...\n`);
  const started = performance.now();
  const progress = setInterval(() => {
    void Promise.all(nodes.map((n) => ask(n.child, 'counters'))).then((replies) => {
      const owner = replies.find((r) => r.owner);
      process.stderr.write(`  ${Math.round((performance.now() - started) / 1000)} s: ${owner?.hosts ?? '?'} hosts in the room\n`);
    });
  }, 15_000);
  const joined = await withDeadline(`${HOSTS} joins`, Promise.all(clients.map((c) => request(c, 'join'))), JOIN_DEADLINE_MS).finally(() => clearInterval(progress));
  const joinedMs = performance.now() - started;
  const failed = joined.find((r) => r.error);
  if (failed) throw new Error(`a client process failed: ${failed.error}`);
  const latency = summarize(joined.flatMap((r) => r.latencies!));
  const retries = joined.reduce((sum, r) => sum + r.retries!, 0);
  // The hosts' views settle once the last deltas arrive: wait for them, within a deadline.
  let owner: Reply | undefined;
  let hostsExact = false;
  const settleBy = performance.now() + 60_000;
  while (performance.now() < settleBy) {
    owner = (await Promise.all(nodes.map((n) => ask(n.child, 'ownership')))).find((r) => r.owner);
    const replies = await Promise.all(clients.map((c) => request(c, 'views')));
    const views = replies.flatMap((r) => r.views!);
    const covered = owner && coverage(views, owner.M!);
    hostsExact = covered !== undefined && views.length === HOSTS && covered.missing + covered.twice + covered.outside === 0;
    if (hostsExact) break;
    if (performance.now() + 1000 >= settleBy) {
      const epochs = [...new Set(replies.flatMap((r) => r.epochs!))];
      process.stderr.write(`hosts' views not exact: ${views.length} views, ${owner?.hosts ?? '?'} hosts at the owner, ids missing ${covered?.missing}, held twice ${covered?.twice}, outside the cube ${covered?.outside}, epochs ${epochs.join(' ')}\n`);
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  const heaps = await Promise.all(nodes.map((n) => ask(n.child, 'heap')));
  const heapAfter = heaps.reduce((sum, r) => sum + r.heapUsed!, 0);
  const row = [
    String(HOSTS),
    String(NODES),
    (joinedMs / 1000).toFixed(1),
    Math.round((HOSTS / joinedMs) * 1000).toString(),
    latency.p50.toFixed(0),
    latency.p99.toFixed(0),
    String(retries),
    heaps.map((h) => (h.heapUsed! / 2 ** 20).toFixed(0)).join(' / '),
    ((heapAfter - heapBefore) / HOSTS / 1024).toFixed(1),
    owner ? `${owner.M} ids, ${owner.exact ? 'yes' : 'NO'}` : 'no owner',
    hostsExact ? 'yes' : 'NO',
    joinedMs < 5 * 60_000 ? 'yes' : 'NO',
  ];
  const headers = ['hosts', 'nodes', 'joined s', 'joins/s', 'p50 ms', 'p99 ms', 'joins retried', 'heap MB per node', 'KB/host', 'owned once (owner)', 'owned once (hosts)', 'under 5 min'];
  console.log(`One room on ${NODES} server nodes and one Redis (node ${process.version}, loopback, 32 joins in flight per client process)\n`);
  console.log(table(headers, [row], 2));
  console.log('\np50/p99: from opening the connection to holding its own ids, retries included (a join refused UNAVAILABLE or unanswered is tried again 1 s later, as a tab does). Heap: the 4 nodes together, after a full GC, over their heap before any host.');
  await Promise.all(clients.map((c) => request(c, 'close')));
} finally {
  await stopAll(children);
  await redis.stop();
}
