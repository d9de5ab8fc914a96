/**
 * Builds small WebAssembly binaries by hand for tests: enough to make modules that break the
 * SPA ABI in exactly one way each.
 */
const leb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return out;
};
const vec = (items: number[][]) => [...leb(items.length), ...items.flat()];
const name = (s: string) => [...leb(s.length), ...new TextEncoder().encode(s)];
const section = (id: number, body: number[]) => [id, ...leb(body.length), ...body];
const I32 = 0x7f;

export interface ModuleSpec {
  /** Signatures of the defined functions; `body` is the code after the locals (default: return 0). */
  functions: { params: number[]; results: number[]; body?: number[] }[];
  exports: { name: string; kind?: number; index: number }[];
  imports: { module: string; field: string; kind: number; memory?: { flags: number; min: number; max?: number }; type?: number }[];
  ownMemory?: boolean;
}

export const i32 = I32;

export function buildModule(spec: ModuleSpec): Uint8Array<ArrayBuffer> {
  const types = spec.functions.map((f) => [0x60, ...vec(f.params.map((p) => [p])), ...vec(f.results.map((r) => [r]))]);
  const imports = spec.imports.map((imp) => {
    const desc =
      imp.kind === 2
        ? [2, imp.memory!.flags, ...leb(imp.memory!.min), ...(imp.memory!.max !== undefined ? leb(imp.memory!.max) : [])]
        : [imp.kind, ...leb(imp.type ?? 0)];
    return [...name(imp.module), ...name(imp.field), ...desc];
  });
  // Each body: no locals; by default returns 0 (i32.const 0) for one i32 result.
  const bodies = spec.functions.map((f) => {
    const code = [0x00, ...(f.body ?? [...(f.results.length === 1 ? [0x41, 0x00] : []), 0x0b])];
    return [...leb(code.length), ...code];
  });
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(types)),
    ...section(2, vec(imports)),
    ...section(3, vec(spec.functions.map((_, i) => leb(i)))),
    ...(spec.ownMemory ? section(5, vec([[0x00, 0x01]])) : []),
    ...section(7, vec(spec.exports.map((e) => [...name(e.name), e.kind ?? 0, ...leb(e.index)]))),
    ...section(10, vec(bodies)),
  ]);
}

/**
 * A module that follows the ABI, with room to run as a pipeline stage (64 pages: a stage needs
 * its initial pages and 19 more for 128 KB chunks): the base every bad module varies.
 */
export function validSpec(): ModuleSpec {
  return {
    functions: [
      { params: [I32, I32], results: [I32] },
      { params: [I32, I32, I32, I32], results: [I32] },
    ],
    imports: [{ module: 'env', field: 'memory', kind: 2, memory: { flags: 3, min: 1, max: 64 } }],
    exports: [
      { name: 'spa_init', index: 0 },
      { name: 'spa_process', index: 1 },
    ],
  };
}

/** Code for `spa_process` bodies (wasm opcodes), to make modules that misbehave on purpose. */
export const op = {
  /** loop { br 0 }: never returns. */
  spinForever: [0x03, 0x40, 0x0c, 0x00, 0x0b],
  /** memory.grow by `pages`, result dropped. */
  grow: (pages: number) => [0x41, ...sleb(pages), 0x40, 0x00, 0x1a],
  /** i32.store of 0 at `address` (traps when out of bounds). */
  storeAt: (address: number) => [0x41, ...sleb(address), 0x41, 0x00, 0x36, 0x02, 0x00],
  /** local.get 1 (inLen) */
  inLen: [0x20, 0x01],
  returnI32: (value: number) => [0x41, ...sleb(value), 0x0b],
  end: [0x0b],
};

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}
