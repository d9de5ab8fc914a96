import { ClosedError, TypedEmitter } from '@cubecast/protocol';
import { encodeSpaConfig, isBuiltInSpa } from '../built-in-configs.js';
import { directSpa } from './built-ins.js';

interface Spec {
  readonly spa: string;
  readonly config?: Readonly<Record<string, number | string | boolean>> | undefined;
}

/** The engine's pipeline events, as an inline pipeline emits them. */
interface InlinePipelineEvents extends Record<string, unknown> {
  'chunk:output': { payload: Uint8Array; flags: number };
  'pipeline:died': { message: string };
}

/**
 * A pipeline of built-in SPAs run on the calling thread, synchronously: the real modules,
 * without workers, so engine tests on virtual time stay deterministic. Outputs are emitted
 * during `push`.
 */
class InlinePipeline extends TypedEmitter<InlinePipelineEvents> {
  private readonly stages;
  private closed = false;

  constructor(spec: readonly Spec[]) {
    super();
    this.stages = spec.map(({ spa, config }) => {
      if (!isBuiltInSpa(spa)) throw new Error(`inline pipelines run built-ins only, not ${spa}`);
      return { name: spa, spa: directSpa(spa, encodeSpaConfig(spa, config ?? {})), chunksIn: 0, chunksOut: 0 };
    });
  }

  push(payload: Uint8Array, flags: number): boolean {
    if (this.closed) throw new ClosedError('the inline pipeline');
    this.run(0, payload, flags);
    return true;
  }

  stats() {
    return this.stages.map(({ name, chunksIn, chunksOut }) => ({ name, chunksIn, chunksOut, errors: 0, meanMicros: 0, lastMicros: 0 }));
  }

  close(): void {
    this.closed = true;
  }

  private run(index: number, chunk: Uint8Array, flags: number): void {
    const stage = this.stages[index];
    if (!stage) {
      this.emit('chunk:output', { payload: chunk, flags });
      return;
    }
    stage.chunksIn++;
    for (let out = stage.spa.process(chunk); typeof out !== 'number' && out.byteLength > 0; out = stage.spa.drain()) {
      stage.chunksOut++;
      this.run(index + 1, out, flags);
    }
  }
}

export function inlinePipeline(spec: readonly Spec[]): InlinePipeline {
  return new InlinePipeline(spec);
}
