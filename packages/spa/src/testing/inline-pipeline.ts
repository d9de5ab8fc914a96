import { ClosedError, TypedEmitter } from '@cubecast/protocol';
import { encodeSpaConfig, isBuiltInSpa } from '../built-in-configs.js';
import { SPLIT_TAG_BYTES, stagesCarryingTags } from '../split-tags.js';
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

  constructor(spec: readonly Spec[], splitInput: boolean) {
    super();
    const carrying = stagesCarryingTags(spec.map((s) => s.spa), splitInput);
    this.stages = spec.map(({ spa, config }, i) => {
      if (!isBuiltInSpa(spa)) throw new Error(`inline pipelines run built-ins only, not ${spa}`);
      return { name: spa, spa: directSpa(spa, encodeSpaConfig(spa, config ?? {})), carryTag: carrying[i]!, chunksIn: 0, chunksOut: 0 };
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
    // As the stage runtime carries split's tag: around the payload, and alone for a chunk dropped.
    const tag = stage.carryTag ? chunk.subarray(0, SPLIT_TAG_BYTES) : undefined;
    const withTag = (out: Uint8Array) => (tag ? Uint8Array.from([...tag, ...out]) : out);
    if (tag && chunk.byteLength === SPLIT_TAG_BYTES) return this.run(index + 1, chunk, flags);
    let out = stage.spa.process(tag ? chunk.subarray(SPLIT_TAG_BYTES) : chunk);
    if (tag && (typeof out === 'number' || out.byteLength === 0)) return this.run(index + 1, tag, flags);
    for (; typeof out !== 'number' && out.byteLength > 0; out = stage.spa.drain()) {
      stage.chunksOut++;
      this.run(index + 1, withTag(out), flags);
    }
  }
}

/** `splitInput`: the chunks pushed are split's records, whose tags the stages carry (split-tags.ts). */
export function inlinePipeline(spec: readonly Spec[], splitInput = false): InlinePipeline {
  return new InlinePipeline(spec, splitInput);
}
