import { validateSpaModule } from './abi.js';
import { PAGE } from './memory-layout.js';

export interface InlineSpa {
  /** What spa_init returned (0: ready). */
  readonly status: number;
  /** Runs one chunk: the output bytes (a copy), or the module's negative status. */
  process(input: Uint8Array): Uint8Array | number;
  /** The call with no input that asks a holding SPA for its next ready chunk. */
  drain(): Uint8Array | number;
}

/**
 * An SPA module on the calling thread, without a worker, a ring or a watchdog: each chunk is
 * copied into the module's memory and its output copied out. For tests of a module's logic
 * and for benchmark baselines, never for untrusted code in the product.
 */
export function inlineSpa(bytes: Uint8Array<ArrayBuffer>, config: Uint8Array, maxChunkBytes: number): InlineSpa {
  const { memory: limits } = validateSpaModule(bytes);
  // Input then output area, above the module's initial pages, as a pipeline stage lays them out.
  const input = limits.initialPages * PAGE;
  const output = input + maxChunkBytes;
  const memory = new WebAssembly.Memory({ initial: limits.initialPages + Math.ceil((2 * maxChunkBytes) / PAGE), maximum: limits.maximumPages, shared: true });
  const { exports } = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }) as unknown as {
    exports: { spa_init(p: number, n: number): number; spa_process(a: number, b: number, c: number, d: number): number };
  };
  const heap = () => new Uint8Array(memory.buffer);
  const result = (n: number) => (n < 0 ? n : heap().slice(output, output + n));
  heap().set(config, output);
  return {
    status: exports.spa_init(output, config.byteLength),
    process(chunk) {
      heap().set(chunk, input);
      return result(exports.spa_process(input, chunk.byteLength, output, maxChunkBytes));
    },
    drain() {
      const n = exports.spa_process(0, 0, output, maxChunkBytes);
      return n === 0 ? 0 : result(n);
    },
  };
}
