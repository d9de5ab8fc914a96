import { Worker } from 'node:worker_threads';
import type { StageWorker } from '../pipeline.js';

/**
 * Spawns a stage in a Node worker thread that loads TypeScript through tsx's register API
 * (a worker's execArgv --import is not honoured on Node 20).
 */
export function spawnNodeStage(): StageWorker {
  const entry = new URL('./stage-thread.ts', import.meta.url).href;
  const worker = new Worker(`import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(entry)}); })`, { eval: true });
  return {
    postMessage: (message) => worker.postMessage(message),
    terminate: () => void worker.terminate(),
    onMessage: (listener) => worker.on('message', listener),
    onError: (listener) => worker.on('error', listener),
  };
}
