// An SPA stage in a Node worker thread, for tests: the same runtime as spa-stage.worker.ts.
import { parentPort } from 'node:worker_threads';
import { runStage, type StageInit } from '../stage-runtime.js';

parentPort!.once('message', (init: StageInit) => runStage(init, (message) => parentPort!.postMessage(message)));
