/**
 * One worker thread of `cubecast sim`'s pool (sim-parts.ts): prepares the experiment's
 * context once, then runs each part it is sent and posts the result, with progress as it goes.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { EXPERIMENTS, isParted } from '@cubecast/sim';
import type { FromPartWorker, PartWorkerData, ToPartWorker } from './sim-parts.js';

const { experiment: name, hosts, seed } = workerData as PartWorkerData;
const experiment = EXPERIMENTS.find((e) => e.name === name);
if (!experiment || !isParted(experiment)) throw new Error(`${name} is not an experiment that splits into parts`);
const post = (message: FromPartWorker) => parentPort!.postMessage(message);
const context = experiment.prepare({ hosts, seed });
parentPort!.on('message', ({ index, part }: ToPartWorker) => {
  const result = experiment.runPart(context, part, (units, label) => post({ type: 'progress', units, label }));
  post({ type: 'result', index, result });
});
post({ type: 'ready' });
