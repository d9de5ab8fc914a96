// The SPA bench's source and sink, off the main thread (where the engine worker would be):
// keeps WINDOW chunks in flight through three stages and records when each arrives.
import { SpaPipeline, spawnBrowserStage } from '@cubecast/spa';
import forwardUrl from '@cubecast/spa/spas/forward.wasm?url';
import stageWorkerUrl from '@cubecast/spa/spa-stage.worker?worker&url';
import { STAGES, WINDOW, type BenchResult, type BenchRun } from './spa-bench-protocol.js';
import PostStage from './spa-bench-stage.worker.ts?worker';

declare const self: { onmessage: ((event: MessageEvent<BenchRun>) => void) | null; postMessage(message: BenchResult): void; location: Location };

const absolute = (url: string) => new URL(url, self.location.href).href;

/** A pipeline as the bench sees it: send a chunk in, hear about each arrival. */
interface Pipeline {
  send(chunk: Uint8Array): void;
  onArrival(listener: (bytes: number) => void): void;
  close(): void;
}

async function ringPipeline(bytes: number): Promise<Pipeline> {
  const module = new Uint8Array(await (await fetch(absolute(forwardUrl))).arrayBuffer());
  const spa = await SpaPipeline.create({
    stages: Array.from({ length: STAGES }, () => ({ name: 'forward', module })),
    spawn: () => spawnBrowserStage(absolute(stageWorkerUrl)),
    maxChunkBytes: bytes,
  });
  // The first ring may hold fewer than WINDOW large chunks: the rest wait here for room.
  const waiting: Uint8Array[] = [];
  const flush = async () => {
    while (waiting.length > 0) {
      if (spa.push(waiting[0]!)) waiting.shift();
      else await spa.waitForRoom(waiting[0]!.byteLength);
    }
  };
  return {
    send: (chunk) => {
      waiting.push(chunk);
      if (waiting.length === 1) void flush();
    },
    onArrival: (listener) => spa.on('chunk:output', (chunk) => listener(chunk.byteLength)),
    close: () => void spa.close(),
  };
}

async function postPipeline(bytes: number, transfer: boolean): Promise<Pipeline> {
  const workers = Array.from({ length: STAGES }, () => new PostStage());
  const channels = Array.from({ length: STAGES + 1 }, () => new MessageChannel());
  await Promise.all(
    workers.map(
      (worker, i) =>
        new Promise<void>((resolve) => {
          worker.onmessage = () => resolve(); // 'ready'
          worker.postMessage({ input: channels[i]!.port2, output: channels[i + 1]!.port1, url: absolute(forwardUrl), bytes, transfer }, [channels[i]!.port2, channels[i + 1]!.port1]);
        }),
    ),
  );
  const source = channels[0]!.port1;
  const sink = channels[STAGES]!.port2;
  return {
    send: (chunk) => source.postMessage(chunk, transfer ? [chunk.buffer] : []),
    onArrival: (listener) => (sink.onmessage = (event: MessageEvent<Uint8Array>) => listener(event.data.byteLength)),
    close: () => workers.forEach((w) => w.terminate()),
  };
}

self.onmessage = async ({ data: run }) => {
  const pipeline = run.transport === 'ring' ? await ringPipeline(run.bytes) : await postPipeline(run.bytes, run.transport === 'post-transfer');
  const template = new Uint8Array(run.bytes).map((_, i) => i & 0xff);
  const arrivals: number[] = [];
  let sending = true;
  // Transfer gives the buffer away: each send needs its own.
  const next = () => (run.transport === 'post-transfer' ? template.slice() : template);
  await new Promise<void>((done) => {
    let inFlight = 0;
    pipeline.onArrival((length) => {
      if (length !== run.bytes) throw new Error(`a ${length}-byte chunk arrived; ${run.bytes} were sent`);
      arrivals.push(performance.now());
      inFlight--;
      if (sending) {
        pipeline.send(next());
        inFlight++;
      } else if (inFlight === 0) {
        done();
      }
    });
    for (; inFlight < WINDOW; inFlight++) pipeline.send(next());
    setTimeout(() => (sending = false), run.durationMs);
  });
  pipeline.close();
  self.postMessage({ arrivals, bytes: run.bytes });
};
