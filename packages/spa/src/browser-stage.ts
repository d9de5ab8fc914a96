import type { StageWorker } from './pipeline.js';
import type { StageMessage } from './stage-runtime.js';

/** Runs a stage in a dedicated browser worker loaded from `url` (the bundled spa-stage.worker). */
export function spawnBrowserStage(url: string | URL): StageWorker {
  const worker = new Worker(url, { type: 'module', name: 'cubecast-spa' });
  return {
    postMessage: (message) => worker.postMessage(message),
    terminate: () => worker.terminate(),
    onMessage: (listener) => worker.addEventListener('message', (event: MessageEvent<StageMessage>) => listener(event.data)),
    onError: (listener) => worker.addEventListener('error', (event) => listener(new Error(event.message || 'the SPA worker failed to load'))),
  };
}
