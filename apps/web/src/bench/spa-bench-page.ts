/**
 * The SPA bench's page (`npm run bench:spa` drives it): the paper's Fig. 9 in the browser.
 * Chunks cross three forward SPAs by SharedArrayBuffer rings, by postMessage (copied or
 * transferred), or on the main thread itself, while 0-4 busy loops hog the main thread.
 */
import forwardUrl from '@cubecast/spa/spas/forward.wasm?url';
import DriverWorker from './spa-bench-driver.worker.ts?worker';
import { forwardInstance } from './forward-instance.js';
import { STAGES, WINDOW, type BenchResult, type Transport } from './spa-bench-protocol.js';

/** Each busy loop spins 4 ms of every 16 on the main thread: 4 loops keep it fully busy. */
function hogMainThread(loops: number): () => void {
  const timers = Array.from({ length: loops }, () =>
    setInterval(() => {
      const until = performance.now() + 4;
      while (performance.now() < until);
    }, 16),
  );
  return () => timers.forEach(clearInterval);
}

/** A macrotask boundary, so the busy loops' timers interleave with main-thread stages. */
const channel = new MessageChannel();
const queued: (() => void)[] = [];
channel.port1.onmessage = () => queued.shift()?.();
const nextTask = () => new Promise<void>((resolve) => (queued.push(resolve), channel.port2.postMessage(0)));

async function mainThread(bytes: number, durationMs: number): Promise<BenchResult> {
  const stages = await Promise.all(Array.from({ length: STAGES }, () => forwardInstance(forwardUrl, bytes)));
  const chunk = new Uint8Array(bytes);
  const arrivals: number[] = [];
  const end = performance.now() + durationMs;
  // WINDOW chunks in flight, each stage one task: as a page that processed streams itself would.
  const flow = async () => {
    while (performance.now() < end) {
      let data: Uint8Array = chunk;
      for (const stage of stages) {
        data = stage(data);
        await nextTask();
      }
      arrivals.push(performance.now());
    }
  };
  await Promise.all(Array.from({ length: WINDOW }, flow));
  return { arrivals, bytes };
}

function inWorker(transport: Exclude<Transport, 'main-thread'>, bytes: number, durationMs: number): Promise<BenchResult> {
  const driver = new DriverWorker();
  return new Promise((resolve, reject) => {
    driver.onmessage = (event: MessageEvent<BenchResult>) => {
      driver.terminate();
      resolve(event.data);
    };
    driver.onerror = (event) => reject(new Error(event.message));
    driver.postMessage({ transport, bytes, durationMs });
  });
}

async function run(transport: Transport, bytes: number, loops: number, durationMs: number): Promise<BenchResult> {
  const stop = hogMainThread(loops);
  try {
    return transport === 'main-thread' ? await mainThread(bytes, durationMs) : await inWorker(transport, bytes, durationMs);
  } finally {
    stop();
  }
}

(window as unknown as { spaBench: unknown }).spaBench = { run, isolated: () => crossOriginIsolated };
