/**
 * Browser benchmark: `npm run bench:browser` (inside a private network namespace, bounded).
 *
 * (a) One direct link between two tabs, chunks of 16, 64 and 256 KB sent back to back: MB/s.
 *     Each chain is warmed up, then measured 3 times; medians are reported.
 * (b) Chains of 2, 3, 4, 8 and 16 tabs forwarding 64 KB chunks back to back from one end to
 *     the other: end-to-end MB/s, total switched MB/s (end-to-end x links), and the overhead
 *     against the 2-tab chain of the same run (iOverlay's Fig. 3 measure).
 * (b') One relay on one 3-tab chain, direct and relayed floods alternated: the engine's relay
 *     overhead beside a bare relay's (no engine) in the same run, with CPU sampled from /proc.
 * (c) Video-sized chunks (4 KB at 30 fps) through 0, 1, 2 and 4 relays: latency p50/p99 and
 *     the latency each relay adds over the direct link (no emulated delay: all of it is the
 *     engine's and WebRTC's own).
 * Every tab runs the product's engine worker (but the bare baselines); each figure stands beside its same-run baseline.
 */
import { summarize } from '@cubecast/overlay';
import { startBenchBrowser, withCpu, type CpuSample } from '@cubecast/bench-kit/browser';
import { table } from '@cubecast/bench-kit';
import { floodRate, openChain, type BenchTab } from './bench-page-api.js';

const DEADLINE_MS = 10 * 60_000;
const WARMUP_MS = 2000;
const FLOOD_MS = 3000;
/** Measurements per chain after its warm-up; the median is reported. */
const REPEATS = 3;
const STREAM_MS = 6000;
/** Direct/relayed flood pairs per relay measurement (b'). */
const PAIRS = 7;

const bench = await startBenchBrowser('bench:browser', 'bench.html', DEADLINE_MS);
const { server, browser } = bench;

/** n tabs wired in a line, the first publishing to the last. */
const chain = (n: number, raw = false) => openChain(browser, server.url, n, raw);

/**
 * MB/s from the first tab to the last: a warm-up flood first (a fresh WebRTC connection on
 * this machine sometimes crawls for its first seconds), then the median of REPEATS floods.
 */
async function throughput(n: number, bytes: number, raw = false): Promise<number> {
  const c = await chain(n, raw);
  const flood = (ms: number) => floodRate(c.first, c.last, bytes, ms);
  try {
    await flood(WARMUP_MS);
    const runs: number[] = [];
    for (let i = 0; i < REPEATS; i++) runs.push(await flood(FLOOD_MS));
    return summarize(runs).p50;
  } finally {
    await c.close();
  }
}

/**
 * One relay's overhead measured on one 3-tab chain, so both flows share the same connections
 * and conditions: t0 -> t1 (direct) and t0 -> t1 -> t2 (relayed), flooded alternately.
 * Overhead = 1 - (relayed MB/s x 2 links) / (direct MB/s x 1 link), per pair; the median pair. With the engine the two
 * flows are channels 2 and 1; with `raw` (bare channels, no engine) t1 either counts or
 * relays, which is what a relay costs in Chromium's data channels alone.
 */
async function pairedRelayOverhead(bytes: number, pairs: number, raw = false) {
  const c = await chain(3, raw);
  const [t0, t1, t2] = c.tabs as [BenchTab, BenchTab, BenchTab];
  if (!raw) {
    await t1.call('subscribe', 2);
    await t0.call('publish', 1, 2);
    await new Promise((r) => setTimeout(r, 300));
  }
  const cpu: { direct: CpuSample[]; relayed: CpuSample[] } = { direct: [], relayed: [] };
  const flood = async (relayed: boolean, ms: number) => {
    const receiver = relayed ? t2 : t1;
    const channel = relayed ? 1 : 2;
    if (raw) await t1.call('relay', relayed ? 't2' : null);
    await receiver.call('reset', channel);
    const measured = await withCpu(async () => {
      await t0.call('flood', bytes, ms, channel);
      await new Promise((r) => setTimeout(r, ms));
    });
    if (measured.cpu) cpu[relayed ? 'relayed' : 'direct'].push(measured.cpu);
    await new Promise((r) => setTimeout(r, 1000));
    const r = await receiver.call('results');
    return r.bytes / 2 ** 20 / Math.max(0.001, (r.lastAt - r.firstAt) / 1000);
  };
  try {
    await flood(false, WARMUP_MS);
    await flood(true, WARMUP_MS);
    cpu.direct.length = cpu.relayed.length = 0;
    const direct: number[] = [];
    const relayed: number[] = [];
    for (let i = 0; i < pairs; i++) {
      direct.push(await flood(false, FLOOD_MS));
      relayed.push(await flood(true, FLOOD_MS));
    }
    const d = summarize(direct);
    const r = summarize(relayed);
    // Each pair's flows ran back to back, so their ratio is free of the drift between pairs
    // (a connection's throughput here wanders by 10-20% over a minute); report its median.
    const overheads = summarize(direct.map((dm, i) => 1 - (relayed[i]! * 2) / dm));
    return {
      direct: d.p50,
      relayed: r.p50,
      overhead: overheads.p50,
      overheadRange: [overheads.min, overheads.max],
      directRange: [d.min, d.max],
      relayedRange: [r.min, r.max],
      cpu: { direct: medianCpu(cpu.direct), relayed: medianCpu(cpu.relayed) },
    };
  } finally {
    await c.close();
  }
}

function medianCpu(samples: CpuSample[]): string {
  if (samples.length === 0) return 'n/a';
  const m = (pick: (s: CpuSample) => number) => summarize(samples.map(pick)).p50.toFixed(0);
  return `${m((s) => s.machine)} / ${m((s) => s.networkService)} / ${m((s) => s.busiestRenderer)}`;
}

async function latency(n: number): Promise<number[]> {
  const c = await chain(n);
  try {
    await c.last.call('reset');
    await c.first.call('stream', 4096, 30, STREAM_MS);
    await new Promise((r) => setTimeout(r, 500));
    return (await c.last.call('results')).latencies;
  } finally {
    await c.close();
  }
}

try {
  const version = browser.version();
  console.log(`Browser benchmark (Chromium ${version}, node ${process.version}, private network namespace)\n`);

  const direct: (string | number)[][] = [];
  for (const kb of [16, 64, 256]) {
    const bare = await throughput(2, kb * 1024, true);
    const engine = await throughput(2, kb * 1024);
    direct.push([`${kb} KB`, bare.toFixed(1), engine.toFixed(1), `${((engine / bare) * 100).toFixed(0)}%`]);
  }
  console.log('(a) One direct link, chunks back to back: the engine against a bare transferred channel (baseline)');
  console.log(table(['chunk', 'bare channel MB/s', 'engine MB/s', 'engine / bare'], direct));

  const chains: (string | number)[][] = [];
  let base = 0;
  for (const n of [2, 3, 4, 8, 16]) {
    const e2e = await throughput(n, 64 * 1024);
    const switched = e2e * (n - 1);
    if (n === 2) base = switched;
    chains.push([n, e2e.toFixed(1), switched.toFixed(1), n === 2 ? 'baseline' : `${(((base - switched) / base) * 100).toFixed(1)}%`]);
  }
  console.log('\n(b) Chains forwarding 64 KB chunks back to back (overhead: 1 - switched / switched of 2 tabs)');
  console.log(table(['tabs', 'end-to-end MB/s', 'switched MB/s', 'overhead'], chains));

  const relayOverheads = { engine: await pairedRelayOverhead(64 * 1024, PAIRS), bare: await pairedRelayOverhead(64 * 1024, PAIRS, true) };
  console.log(`\n(b') One relay on one 3-tab chain, direct and relayed flows alternated (${PAIRS} pairs, medians, 64 KB chunks)`);
  console.log(
    table(
      ['relay', 'flow', 'MB/s (median)', 'range', 'switched MB/s', 'CPU % machine / net / tab', 'relay overhead (median pair)', 'pairs range'],
      Object.entries(relayOverheads).flatMap(([name, paired]) => [
        [name, 't0 -> t1 (direct)', paired.direct.toFixed(1), paired.directRange.map((v) => v.toFixed(1)).join(' - '), paired.direct.toFixed(1), paired.cpu.direct, 'baseline'],
        [
          name,
          't0 -> t1 -> t2 (relayed)',
          paired.relayed.toFixed(1),
          paired.relayedRange.map((v) => v.toFixed(1)).join(' - '),
          (paired.relayed * 2).toFixed(1),
          paired.cpu.relayed,
          `${(paired.overhead * 100).toFixed(1)}%`,
          paired.overheadRange.map((v) => `${(v * 100).toFixed(1)}%`).join(' .. '),
        ],
      ]),
      2,
    ),
  );
  console.log('engine: the product\'s engine at every tab; bare: bare channels, t1 sends on what it receives (no engine)');
  console.log('CPU: medians over the floods, % of one core: the machine (2 cores = 200), Chromium\'s network service, the busiest tab');
  console.log('target: engine relay overhead within 5% (iOverlay reports 3.3%)');

  const video: (string | number)[][] = [];
  let direct50 = 0;
  let direct99 = 0;
  for (const relays of [0, 1, 2, 4]) {
    const samples = await latency(relays + 2);
    const { p50, p99 } = summarize(samples);
    if (relays === 0) {
      direct50 = p50;
      direct99 = p99;
    }
    video.push([
      relays,
      samples.length,
      p50.toFixed(2),
      p99.toFixed(2),
      relays === 0 ? 'baseline' : ((p50 - direct50) / relays).toFixed(2),
      relays === 0 ? 'baseline' : ((p99 - direct99) / relays).toFixed(2),
    ]);
  }
  console.log('\n(c) Video-sized chunks (4 KB, 30 fps) through relays: end-to-end latency, ms');
  console.log(table(['relays', 'chunks', 'p50', 'p99', 'added p50 per relay', 'added p99 per relay'], video));
} finally {
  await bench.close();
}
