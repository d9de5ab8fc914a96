/**
 * The SPA ABI (DESIGN.md, SPA sandbox): a module imports `env.memory` (shared, with a fixed
 * maximum) and nothing else, and exports
 *   spa_init(cfgPtr: i32, cfgLen: i32) -> i32                      (0 = ready)
 *   spa_process(inPtr: i32, inLen: i32, outPtr: i32, outCap: i32) -> i32   (bytes out; -1 drops)
 * `validateSpaModule` reads the module's sections and refuses anything else with a message
 * that names the problem, before any of its code runs.
 */

/** A module that does not follow the SPA ABI, or is not WebAssembly at all. */
export class SpaAbiError extends Error {
  override readonly name = 'SpaAbiError';
}

/** Memory an SPA may ask for at most: 1024 pages of 64 KiB (64 MiB). */
export const MAX_SPA_PAGES = 1024;

export interface SpaModuleInfo {
  readonly memory: { readonly initialPages: number; readonly maximumPages: number };
}

type ValType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128' | 'funcref' | 'externref';
interface FuncType {
  readonly params: ValType[];
  readonly results: ValType[];
}

const VALTYPES: Record<number, ValType> = { 0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64', 0x7b: 'v128', 0x70: 'funcref', 0x6f: 'externref' };
const KINDS = ['function', 'table', 'memory', 'global', 'tag'];

const EXPECTED: Record<string, FuncType> = {
  spa_init: { params: ['i32', 'i32'], results: ['i32'] },
  spa_process: { params: ['i32', 'i32', 'i32', 'i32'], results: ['i32'] },
};

/** A cursor over the module's bytes; every read is bounds-checked. */
class Reader {
  constructor(
    private readonly bytes: Uint8Array,
    public at = 0,
    private readonly end = bytes.byteLength,
  ) {}

  get done(): boolean {
    return this.at >= this.end;
  }

  byte(): number {
    if (this.at >= this.end) throw new SpaAbiError('the module ends in the middle of a section');
    return this.bytes[this.at++]!;
  }

  u32(): number {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) {
        if (result > 0xffffffff) throw new SpaAbiError('a LEB128 number larger than 32 bits');
        return result;
      }
    }
    throw new SpaAbiError('a malformed LEB128 number');
  }

  /**
   * A vector's length. Every element takes at least one byte, so a count larger than the
   * bytes left is a lie: refusing it here keeps a 17-byte module from making the validator
   * allocate for 2^32 elements.
   */
  count(): number {
    const n = this.u32();
    if (n > this.end - this.at) throw new SpaAbiError(`a vector of ${n} entries in ${this.end - this.at} bytes`);
    return n;
  }

  name(): string {
    const length = this.count();
    if (this.at + length > this.end) throw new SpaAbiError('a name runs past its section');
    const text = new TextDecoder().decode(this.bytes.subarray(this.at, this.at + length));
    this.at += length;
    return text;
  }

  valtype(): ValType {
    const code = this.byte();
    const type = VALTYPES[code];
    if (!type) throw new SpaAbiError(`an unknown value type 0x${code.toString(16)}`);
    return type;
  }

  sub(length: number): Reader {
    if (this.at + length > this.end) throw new SpaAbiError('a section runs past the end of the module');
    const reader = new Reader(this.bytes, this.at, this.at + length);
    this.at += length;
    return reader;
  }
}

const signature = (t: FuncType) => `(${t.params.join(', ')}) -> ${t.results.length === 0 ? '()' : t.results.join(', ')}`;

/** Checks a module's imports and exports against the SPA ABI; returns its memory limits. */
export function validateSpaModule(bytes: Uint8Array): SpaModuleInfo {
  if (bytes.byteLength < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    throw new SpaAbiError('this is not a WebAssembly module (no \\0asm header)');
  }
  if (bytes[4] !== 1 || bytes[5] !== 0 || bytes[6] !== 0 || bytes[7] !== 0) throw new SpaAbiError('unsupported WebAssembly binary version');
  const types: FuncType[] = [];
  const functionTypes: number[] = []; // type index of every function, imported ones first
  const exports = new Map<string, { kind: number; index: number }>();
  let memory: { initialPages: number; maximumPages: number; shared: boolean } | undefined;

  const reader = new Reader(bytes, 8);
  while (!reader.done) {
    const id = reader.byte();
    const section = reader.sub(reader.u32());
    if (id === 1) {
      for (let n = section.count(); n > 0; n--) {
        if (section.byte() !== 0x60) throw new SpaAbiError('a type that is not a function type');
        const params = Array.from({ length: section.count() }, () => section.valtype());
        const results = Array.from({ length: section.count() }, () => section.valtype());
        types.push({ params, results });
      }
    } else if (id === 2) {
      for (let n = section.count(); n > 0; n--) {
        const module = section.name();
        const field = section.name();
        const kind = section.byte();
        if (module !== 'env' || field !== 'memory' || kind !== 2) {
          throw new SpaAbiError(`the module imports ${module}.${field} (a ${KINDS[kind] ?? 'thing'}): an SPA may import only env.memory`);
        }
        const flags = section.byte();
        const initialPages = section.u32();
        const maximumPages = flags & 1 ? section.u32() : Infinity;
        if (flags & ~3) throw new SpaAbiError('env.memory must be a 32-bit memory');
        memory = { initialPages, maximumPages, shared: (flags & 2) !== 0 };
      }
    } else if (id === 3) {
      for (let n = section.count(); n > 0; n--) functionTypes.push(section.u32());
    } else if (id === 7) {
      for (let n = section.count(); n > 0; n--) {
        const name = section.name();
        exports.set(name, { kind: section.byte(), index: section.u32() });
      }
    } else if (id === 5) {
      throw new SpaAbiError('the module defines its own memory: an SPA must import env.memory instead');
    }
  }

  if (!memory) throw new SpaAbiError('the module does not import env.memory');
  if (!memory.shared) throw new SpaAbiError('env.memory must be shared (the pipeline passes chunks through shared memory)');
  if (!Number.isFinite(memory.maximumPages)) throw new SpaAbiError('env.memory must declare a maximum size');
  if (memory.maximumPages > MAX_SPA_PAGES) {
    throw new SpaAbiError(`env.memory may grow to ${memory.maximumPages} pages; an SPA may have at most ${MAX_SPA_PAGES} (64 MiB)`);
  }
  for (const [name, expected] of Object.entries(EXPECTED)) {
    const entry = exports.get(name);
    if (!entry) throw new SpaAbiError(`the module does not export ${name}`);
    if (entry.kind !== 0) throw new SpaAbiError(`${name} is a ${KINDS[entry.kind] ?? 'thing'}, not a function`);
    const type = types[functionTypes[entry.index] ?? -1];
    if (!type) throw new SpaAbiError(`${name} refers to a function the module does not define`);
    if (signature(type) !== signature(expected)) throw new SpaAbiError(`${name} must be ${signature(expected)}, is ${signature(type)}`);
  }
  return { memory: { initialPages: memory.initialPages, maximumPages: memory.maximumPages } };
}
