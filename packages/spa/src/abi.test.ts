import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SpaAbiError, validateSpaModule } from './abi.js';
import { buildModule, i32, validSpec, type ModuleSpec } from './testing/wasm-builder.js';

function variant(change: (spec: ModuleSpec) => void): Uint8Array {
  const spec = validSpec();
  change(spec);
  return buildModule(spec);
}

describe('validateSpaModule', () => {
  it('accepts a module that follows the ABI, and the engine compiles it', async () => {
    const bytes = buildModule(validSpec());
    expect(validateSpaModule(bytes)).toEqual({ memory: { initialPages: 1, maximumPages: 64 } });
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 64, shared: true });
    const module = await WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>);
    const instance = await WebAssembly.instantiate(module, { env: { memory } });
    expect((instance.exports.spa_process as (...a: number[]) => number)(0, 0, 0, 0)).toBe(0);
  });

  it.each<[string, Uint8Array, RegExp]>([
    ['not wasm', new TextEncoder().encode('hello, world'), /not a WebAssembly module/],
    ['truncated', buildModule(validSpec()).subarray(0, 30), /ends in the middle|runs past/],
    ['a function import', variant((s) => s.imports.push({ module: 'env', field: 'abort', kind: 0, type: 0 })), /imports env\.abort \(a function\): an SPA may import only env\.memory/],
    ['a foreign module', variant((s) => (s.imports[0] = { module: 'wasi', field: 'memory', kind: 2, memory: { flags: 3, min: 1, max: 2 } })), /imports wasi\.memory/],
    ['no memory import', variant((s) => (s.imports = [])), /does not import env\.memory/],
    ['its own memory', variant((s) => ((s.imports = []), (s.ownMemory = true))), /defines its own memory/],
    ['unshared memory', variant((s) => (s.imports[0]!.memory = { flags: 1, min: 1, max: 16 })), /must be shared/],
    ['no maximum', variant((s) => (s.imports[0]!.memory = { flags: 2, min: 1 })), /must declare a maximum/],
    ['too much memory', variant((s) => (s.imports[0]!.memory = { flags: 3, min: 1, max: 2048 })), /2048 pages; an SPA may have at most 1024/],
    ['no spa_init', variant((s) => s.exports.shift()), /does not export spa_init/],
    ['no spa_process', variant((s) => s.exports.pop()), /does not export spa_process/],
    ['spa_process with the wrong signature', variant((s) => (s.functions[1] = { params: [i32], results: [i32] })), /spa_process must be \(i32, i32, i32, i32\) -> i32, is \(i32\) -> i32/],
    ['spa_init returning nothing', variant((s) => (s.functions[0] = { params: [i32, i32], results: [] })), /spa_init must be \(i32, i32\) -> i32, is \(i32, i32\) -> \(\)/],
    ['spa_init not a function', variant((s) => (s.exports[0] = { name: 'spa_init', kind: 3, index: 0 })), /spa_init is a global, not a function/],
  ])('refuses %s with a message that names the problem', (_what, bytes, message) => {
    expect(() => validateSpaModule(bytes)).toThrow(SpaAbiError);
    expect(() => validateSpaModule(bytes)).toThrow(message);
  });

  it('refuses a vector count larger than the bytes left before allocating for it (a 17-byte module crashed the server)', () => {
    // One function type whose parameter count is 2^32 - 1, in a section of 8 bytes.
    const bytes = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 7, 1, 0x60, 0xff, 0xff, 0xff, 0xff, 0x0f]);
    expect(bytes.byteLength).toBe(17);
    expect(() => validateSpaModule(bytes)).toThrow(SpaAbiError);
    expect(() => validateSpaModule(bytes)).toThrow(/a vector of 4294967295 entries in 0 bytes/);
  });

  it('refuses LEB128 numbers past 32 bits', () => {
    const bytes = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0x7f]);
    expect(() => validateSpaModule(bytes)).toThrow(/larger than 32 bits/);
  });

  it('answers every mutation of a valid module with its limits or an SpaAbiError, nothing else', () => {
    const valid = buildModule(validSpec());
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(valid.byteLength - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
        fc.nat(valid.byteLength),
        (edits, cut) => {
          const bytes = valid.slice(0, Math.max(8, cut));
          for (const [at, value] of edits) if (at < bytes.byteLength) bytes[at] = value;
          try {
            validateSpaModule(bytes);
          } catch (error) {
            if (!(error instanceof SpaAbiError)) throw error;
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
