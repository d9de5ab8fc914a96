import { readFileSync } from 'node:fs';
import { validateSpaModule } from '../abi.js';

/** The compiled built-in SPA `name` (packages/spa/dist/spas, made by `npm run build`). */
export function builtInBytes(name: string): Uint8Array<ArrayBuffer> {
  const url = new URL(`../../dist/spas/${name}.wasm`, import.meta.url);
  try {
    return Uint8Array.from(readFileSync(url));
  } catch {
    throw new Error(`${url.pathname} is missing: run npm run build`);
  }
}

/**
 * A built-in instantiated on this thread, without a worker: for testing its logic. `process`
 * returns the output bytes, or the negative status.
 */
export function directSpa(name: string, config: Uint8Array = new Uint8Array(0)) {
  const bytes = builtInBytes(name);
  const { memory: limits } = validateSpaModule(bytes);
  const io = limits.initialPages * 65536;
  const capacity = 256 * 1024;
  const memory = new WebAssembly.Memory({ initial: limits.initialPages + (2 * capacity) / 65536, maximum: limits.maximumPages, shared: true });
  const { exports } = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }) as unknown as {
    exports: { spa_init(p: number, n: number): number; spa_process(a: number, b: number, c: number, d: number): number };
  };
  const heap = () => new Uint8Array(memory.buffer);
  heap().set(config, io);
  const status = exports.spa_init(io, config.byteLength);
  return {
    status,
    process(input: Uint8Array): Uint8Array | number {
      heap().set(input, io);
      const n = exports.spa_process(io, input.byteLength, io + capacity, capacity);
      return n < 0 ? n : heap().slice(io + capacity, io + capacity + n);
    },
    /** The call with no input that asks a holding SPA for its next ready chunk. */
    drain(): Uint8Array | number {
      const n = exports.spa_process(0, 0, io + capacity, capacity);
      return n <= 0 ? n : heap().slice(io + capacity, io + capacity + n);
    },
  };
}
