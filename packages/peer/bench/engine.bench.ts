/**
 * Engine switching cost without WebRTC: `npm run bench -w packages/peer`.
 *
 * Chains of 2, 3, 4, 8 and 16 real SwitchingEngines in one process, joined by in-memory
 * transports that deliver synchronously; the first publishes chunks of 16, 64 and 256 KB back
 * to back to the last. Baseline, same run: a bare relay chain that only decodes, copies and
 * sends each message (the least any relay must do). Reports end-to-end MB/s, switched MB/s
 * (end-to-end x links) and the cost per relay. Medians of 5 runs.
 */
import { decode, encode, MAX_PAYLOAD_BYTES, patchForwarded } from '@cubecast/protocol';
import { summarize } from '@cubecast/overlay';
import { table } from '@cubecast/bench-kit';
import type { LinkTransport } from '../src/engine/types.js';
import { SwitchingEngine } from '../src/engine/switching-engine.js';

const BYTES_PER_RUN = 32 * 2 ** 20;

/** n engines in a line, as the browser benchmark wires tabs: a ring of 2n ids, tab i owns id i. */
function engineChain(n: number) {
  let delivered = 0;
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const engines = Array.from({ length: n }, (_, i) =>
    new SwitchingEngine({
      now: () => performance.now(),
      setTimer: (cb, ms) => {
        const t = setTimeout(() => {
          timers.delete(t);
          cb();
        }, ms);
        timers.add(t);
        return t;
      },
      clearTimer: (t) => clearTimeout(t as ReturnType<typeof setTimeout>),
      emit: (event) => {
        if (event.type === 'chunk' && i === n - 1) delivered += event.chunk.payload.byteLength;
      },
    }),
  );
  const link = (a: number, b: number): LinkTransport => ({ send: (bytes, lane) => engines[b]!.receive(`t${a}`, bytes, lane), bufferedAmount: 0, close() {} });
  engines.forEach((engine, i) => {
    const neighbours: [number, string][] = [];
    if (i > 0) neighbours.push([i - 1, `t${i - 1}`]);
    if (i < n - 1) neighbours.push([i + 1, `t${i + 1}`]);
    engine.setView({ hostId: `t${i}`, epoch: 1, k: 2 * n, n: 1, ids: [i], neighbours, policy: 'odr' });
    if (i > 0) engine.addLink(`t${i - 1}`, link(i, i - 1));
    if (i < n - 1) engine.addLink(`t${i + 1}`, link(i, i + 1));
  });
  engines.forEach((engine, i) => {
    if (i > 0) engine.linkOpened(`t${i - 1}`);
    if (i < n - 1) engine.linkOpened(`t${i + 1}`);
  });
  for (const engine of engines) engine.setChannels([1]);
  engines[n - 1]!.subscribe(1);
  engines[0]!.publish(1, 0);
  engines[0]!.requestRoute({ subscriptionId: 'b', channel: 1, target: n - 1, maxLatencyMs: 1000, pipeline: [], policy: 'odr' });
  return {
    send: (payload: Uint8Array) => engines[0]!.sendChunk(1, 0, payload),
    delivered: () => delivered,
    close: () => {
      for (const e of engines) e.close();
      for (const t of timers) clearTimeout(t);
    },
  };
}

/** The baseline relay: decode the header, stamp it in place, send it on. */
function bareChain(n: number) {
  let delivered = 0;
  const hop = (i: number, bytes: Uint8Array): void => {
    const { message } = decode(bytes);
    if (i === n - 1) {
      delivered += message.payload.byteLength;
      return;
    }
    patchForwarded(bytes, message.hops + 1, message.latencyUs);
    hop(i + 1, bytes);
  };
  return { hop, delivered: () => delivered };
}

function measure(n: number, chunkBytes: number): { engine: number; bare: number } {
  const payload = new Uint8Array(chunkBytes);
  const chunks = Math.max(1, Math.floor(BYTES_PER_RUN / chunkBytes));
  const engineRuns: number[] = [];
  const bareRuns: number[] = [];
  // Fragments as the engine cuts them, for the bare chain.
  const count = Math.ceil(chunkBytes / MAX_PAYLOAD_BYTES);
  const fragments = Array.from({ length: count }, (_, i) =>
    encode({ type: 1, flags: 0, hops: 0, channel: 1, sequence: 0, source: 0, destination: 0xffffffff, latencyUs: 0, fragmentIndex: i, fragmentCount: count }, payload.subarray(i * MAX_PAYLOAD_BYTES, (i + 1) * MAX_PAYLOAD_BYTES)),
  );
  for (let run = 0; run < 5; run++) {
    const chain = engineChain(n);
    const start = performance.now();
    for (let c = 0; c < chunks; c++) chain.send(payload);
    const ms = performance.now() - start;
    if (chain.delivered() !== chunks * chunkBytes) throw new Error(`engine chain of ${n} delivered ${chain.delivered()} of ${chunks * chunkBytes} bytes`);
    chain.close();
    engineRuns.push((chunks * chunkBytes) / 2 ** 20 / (ms / 1000));

    const bare = bareChain(n);
    const bareStart = performance.now();
    for (let c = 0; c < chunks; c++) for (const f of fragments) bare.hop(0, f.slice());
    bareRuns.push((chunks * chunkBytes) / 2 ** 20 / ((performance.now() - bareStart) / 1000));
  }
  return { engine: summarize(engineRuns).p50, bare: summarize(bareRuns).p50 };
}

const rows: string[][] = [];
for (const kb of [16, 64, 256]) {
  for (const n of [2, 3, 4, 8, 16]) {
    const { engine, bare } = measure(n, kb * 1024);
    rows.push([`${kb} KB`, String(n), bare.toFixed(0), engine.toFixed(0), (engine * (n - 1)).toFixed(0), `${((engine / bare) * 100).toFixed(0)}%`]);
  }
}
const headers = ['chunk', 'engines', 'bare relay MB/s', 'engine MB/s', 'engine switched MB/s', 'engine / bare'];
console.log(`Engine switching cost (node ${process.version}, in-memory links, medians of 5)\n`);
console.log(table(headers, rows));
