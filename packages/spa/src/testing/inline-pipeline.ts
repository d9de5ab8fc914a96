import { encodeSpaConfig, isBuiltInSpa } from '../built-in-configs.js';
import { directSpa } from './built-ins.js';

interface Spec {
  readonly spa: string;
  readonly config?: Readonly<Record<string, number | string | boolean>> | undefined;
}

/**
 * A pipeline of built-in SPAs run on the calling thread, synchronously: the real modules,
 * without workers, so engine tests on virtual time stay deterministic. Outputs are delivered
 * during `push`.
 */
export function inlinePipeline(spec: readonly Spec[]) {
  const stages = spec.map(({ spa, config }) => {
    if (!isBuiltInSpa(spa)) throw new Error(`inline pipelines run built-ins only, not ${spa}`);
    return { name: spa, spa: directSpa(spa, encodeSpaConfig(spa, config ?? {})), chunksIn: 0, chunksOut: 0 };
  });
  let listener: ((payload: Uint8Array, flags: number) => void) | undefined;
  let closed = false;
  const run = (index: number, chunk: Uint8Array, flags: number): void => {
    const stage = stages[index];
    if (!stage) {
      listener?.(chunk, flags);
      return;
    }
    stage.chunksIn++;
    for (let out = stage.spa.process(chunk); typeof out !== 'number' && out.byteLength > 0; out = stage.spa.drain()) {
      stage.chunksOut++;
      run(index + 1, out, flags);
    }
  };
  return {
    push(payload: Uint8Array, flags: number): boolean {
      if (closed) throw new Error('the pipeline is closed');
      run(0, payload, flags);
      return true;
    },
    onOutput(l: (payload: Uint8Array, flags: number) => void) {
      listener = l;
    },
    onDied() {},
    stats: () => stages.map(({ name, chunksIn, chunksOut }) => ({ name, chunksIn, chunksOut, errors: 0, meanMicros: 0, lastMicros: 0 })),
    close() {
      closed = true;
    },
  };
}
