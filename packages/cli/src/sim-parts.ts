import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { partsMeter, type ExperimentOptions, type ExperimentResult, type PartedExperiment } from '@cubecast/sim';

export interface PartWorkerData {
  readonly experiment: string;
  readonly hosts: number;
  readonly seed: number;
}
export interface ToPartWorker {
  readonly index: number;
  readonly part: { readonly units: number };
}
export type FromPartWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'progress'; readonly units: number; readonly label: string }
  | { readonly type: 'result'; readonly index: number; readonly result: unknown };

/** Worker threads `cubecast sim` uses unless told: one a core. */
export const DEFAULT_WORKERS = availableParallelism();

/**
 * Runs a parted experiment's parts on up to `workers` threads, each taking the next part as it
 * finishes one (the largest first: parts differ in size), and combines the results in the
 * parts' order: the same result as `experiment.run`, sooner on a machine with cores to spare.
 * A worker's failure stops them all and rejects with its error.
 */
export async function runPartsInWorkers(experiment: PartedExperiment, options: ExperimentOptions, workers: number): Promise<ExperimentResult> {
  const parts = experiment.parts(options);
  const meter = partsMeter(parts, options.progress);
  const results: unknown[] = new Array(parts.length);
  const data: PartWorkerData = { experiment: experiment.name, hosts: options.hosts, seed: options.seed };
  const threads: Worker[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      // Largest first: the run ends when its longest part does, so that one starts at once.
      const order = parts.map((_, index) => index).sort((a, b) => parts[b]!.units - parts[a]!.units);
      let next = 0;
      let done = 0;
      const give = (thread: Worker) => {
        if (next < order.length) {
          const index = order[next++]!;
          thread.postMessage({ index, part: parts[index]! } satisfies ToPartWorker);
        }
      };
      for (let i = 0; i < Math.min(workers, parts.length); i++) {
        const thread = spawnPartWorker(data);
        threads.push(thread);
        thread.on('message', (message: FromPartWorker) => {
          if (message.type === 'ready') return give(thread);
          if (message.type === 'progress') return meter.advance(message.units, message.label);
          results[message.index] = message.result;
          if (++done === parts.length) resolve();
          else give(thread);
        });
        thread.on('error', reject);
        thread.on('exit', (code) => {
          if (done < parts.length) reject(new Error(`a worker of ${experiment.name} stopped (exit code ${code}) before the run ended`));
        });
      }
    });
  } finally {
    await Promise.all(threads.map((thread) => thread.terminate()));
  }
  return experiment.combine(options, results);
}

/**
 * A worker for the built CLI loads its compiled file; run from source (the tests), the
 * TypeScript file through tsx's register API (a worker's execArgv --import is not honoured on
 * Node 20).
 */
function spawnPartWorker(workerData: PartWorkerData): Worker {
  const fromSource = import.meta.url.endsWith('.ts');
  const entry = new URL(fromSource ? './sim-part.worker.ts' : './sim-part.worker.js', import.meta.url);
  if (!fromSource) return new Worker(entry, { workerData });
  return new Worker(`import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(entry.href)}); })`, { eval: true, workerData });
}
