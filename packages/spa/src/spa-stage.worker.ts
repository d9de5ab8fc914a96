// Entry point of an SPA stage's dedicated worker (browsers). The first message starts the
// stage; from then on the stage talks through shared memory only (stage-runtime.ts).
import { runStage, type StageInit } from './stage-runtime.js';

declare const self: { onmessage: ((event: MessageEvent<StageInit>) => void) | null; postMessage(message: unknown): void };

self.onmessage = (event) => {
  self.onmessage = null;
  runStage(event.data, (message) => self.postMessage(message));
};
