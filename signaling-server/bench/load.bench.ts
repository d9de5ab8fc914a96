/**
 * Signaling load benchmark: `npm run bench -w signaling-server`.
 *
 * N virtual hosts (socket.io clients without WebRTC, on loopback) join, then all leave at
 * once, for N = 1000, 5000 and 15000; each against a bare socket.io server (the baseline,
 * measured in the same run) and against Cubecast's. Reports joins/s, p50/p99 from connect to
 * own ids, server heap per host (after a full GC, over the heap before any host), deltas and
 * full states sent per join, and how long the leaves take (from the first socket closed to the
 * server having handled the last leave), as medians of rounds that alternate the two servers.
 * Bounded: every phase has a deadline; the server process is stopped at the end whatever
 * happens. Targets: 5000 hosts joined in under 20 s, under 200 MB server heap; a mass leave
 * within 2x of bare socket.io's.
 */
import { summarize } from '@cubecast/overlay';
import { table } from '@cubecast/bench-kit';
import { VirtualHost } from '../src/testing/virtual-host.js';
import { ask, startServerProcess, stopAll, withDeadline } from './server-process.js';

/** CUBECAST_LOAD_SIZES: other host counts, comma-separated (e.g. `15000` to look at one size). */
const SIZES = process.env.CUBECAST_LOAD_SIZES?.split(',').map(Number) ?? [1000, 5000, 15000];
/** CUBECAST_LOAD_ROUNDS: rounds per size; the table gives medians (a close of 5000 sockets varies by a third between runs). */
const ROUNDS = Number(process.env.CUBECAST_LOAD_ROUNDS ?? 3);
const IN_FLIGHT = 64;
if (typeof (globalThis as { gc?: unknown }).gc !== 'function') {
  console.error('load.bench: run with node --expose-gc (npm run bench -w signaling-server does)');
  process.exit(1);
}
const gc = (globalThis as unknown as { gc: () => void }).gc;

async function run(mode: 'bare' | 'cubecast', count: number) {
  const { child, url } = await startServerProcess(mode);
  try {
    const heapBefore = (await ask(child, 'heap')).heapUsed!;
    const hosts: VirtualHost[] = [];
    const latencies: number[] = [];
    const start = performance.now();
    let next = 0;
    await withDeadline(
      `${count} joins`,
      Promise.all(
        Array.from({ length: IN_FLIGHT }, async () => {
          while (next < count) {
            next++;
            const t0 = performance.now();
            const host = new VirtualHost(url);
            hosts.push(host);
            await host.join();
            latencies.push(performance.now() - t0);
          }
        }),
      ),
    );
    const joinedMs = performance.now() - start;
    const after = await ask(child, 'heap');
    // This process's garbage from the joins (the hosts' states and deltas, more for Cubecast's
    // hosts than bare's) is collected now, not in the middle of the closes being timed.
    gc();
    // Timed by the server's clock: while thousands of sockets close, this process's timers and
    // the server's answers wait behind their I/O (up to 0.8 s at 15000 hosts).
    const leaveStart = performance.timeOrigin + performance.now();
    for (const host of hosts) host.close();
    const emptied = await withDeadline(
      `${count} leaves`,
      (async () => {
        for (;;) {
          const reply = await ask(child, 'counters');
          if (reply.hosts === 0) return reply.emptiedAt!;
          await new Promise((r) => setTimeout(r, 20));
        }
      })(),
    );
    const leftMs = emptied - leaveStart;
    const latency = summarize(latencies);
    return {
      joinedMs,
      leftMs,
      p50: latency.p50,
      p99: latency.p99,
      heapMb: after.heapUsed! / 2 ** 20,
      heapPerHostKb: (after.heapUsed! - heapBefore) / count / 1024,
      deltasPerJoin: after.deltasSent === undefined ? undefined : after.deltasSent / after.joins!,
      statesPerJoin: after.statesSent === undefined ? undefined : after.statesSent / after.joins!,
      staleDeltas: hosts.reduce((sum, h) => sum + h.staleDeltas, 0),
    };
  } finally {
    await stopAll([child]);
  }
}

type Result = Awaited<ReturnType<typeof run>>;
const median = (values: number[]) => summarize(values).p50;
/** Each field's median over the rounds (a field some rounds lack stays undefined). */
function medians(results: Result[]): Result {
  const of = (field: keyof Result) => {
    const values = results.map((r) => r[field]).filter((v): v is number => v !== undefined);
    return values.length === 0 ? undefined : median(values);
  };
  return Object.fromEntries(Object.keys(results[0]!).map((field) => [field, of(field as keyof Result)])) as Result;
}

const rows: string[][] = [];
for (const count of SIZES) {
  const results: Record<'bare' | 'cubecast', Result[]> = { bare: [], cubecast: [] };
  // Rounds alternate the two servers, so that both meet the machine's slow and fast spells.
  for (let round = 1; round <= ROUNDS; round++) {
    for (const mode of ['bare', 'cubecast'] as const) {
      process.stderr.write(`${mode} server, ${count} hosts, round ${round} of ${ROUNDS}...\n`);
      results[mode].push(await run(mode, count));
    }
  }
  const bareLeftMs = median(results.bare.map((r) => r.leftMs));
  const perRound = results.cubecast.map((c, i) => (c.leftMs / results.bare[i]!.leftMs).toFixed(1)).join(' ');
  for (const mode of ['bare', 'cubecast'] as const) {
    const r = medians(results[mode]);
    rows.push([
      String(count),
      mode === 'bare' ? 'bare socket.io (baseline)' : 'cubecast',
      (r.joinedMs / 1000).toFixed(2),
      Math.round((count / r.joinedMs) * 1000).toString(),
      r.p50.toFixed(1),
      r.p99.toFixed(1),
      r.heapMb.toFixed(1),
      r.heapPerHostKb.toFixed(1),
      r.deltasPerJoin === undefined ? '' : r.deltasPerJoin.toFixed(1),
      r.statesPerJoin === undefined ? '' : r.statesPerJoin.toFixed(2),
      (r.leftMs / 1000).toFixed(2),
      mode === 'bare' ? 'baseline' : `${(r.leftMs / bareLeftMs).toFixed(1)}x`,
      mode === 'bare' ? '' : perRound,
      mode === 'cubecast' && count === 5000 ? (r.joinedMs < 20_000 && r.heapMb < 200 ? 'yes' : 'NO') : '',
      mode === 'cubecast' && count >= 5000 ? (r.leftMs <= 2 * bareLeftMs ? 'yes' : 'NO') : '',
    ]);
  }
}
const headers = ['hosts', 'server', 'joined s', 'joins/s', 'p50 ms', 'p99 ms', 'heap MB', 'KB/host', 'deltas/join', 'states/join', 'left s', 'left x bare', 'per round', 'join target', 'leave target'];
console.log(`Signaling load (node ${process.version}, ${IN_FLIGHT} joins in flight, loopback, medians of ${ROUNDS} rounds)\n`);
console.log(table(headers, rows, 2));
console.log('\np50/p99: from opening the connection to holding its own ids. Heap: server, after a full GC, all hosts joined.');
console.log('Left: from the first socket closed to the server having handled the last leave; per round: that round\'s Cubecast over its bare.');
