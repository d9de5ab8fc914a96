/**
 * One pipeline stage, inside its dedicated worker: instantiate the module over the memory the
 * host made for it, then loop: wait on the input ring (which lives in that memory, so the
 * module reads each chunk where the previous stage wrote it), call `spa_process`, write what
 * it returns into the next ring. The loop blocks in Atomics.wait and never yields to the
 * event loop; the host stops it by closing the input ring, or by terminating the worker.
 */
import { RingConsumer, RingProducer } from './ring.js';
import { SPLIT_TAG_BYTES } from './split-tags.js';
import { Control, sharedBufferOf, Stat, STAGE_STATS, STAGE_WORDS } from './stage-control.js';

export interface StageInit {
  readonly module: WebAssembly.Module;
  readonly memory: WebAssembly.Memory;
  /** Where this stage's input ring starts in `memory`. */
  readonly inputOffset: number;
  /** Where `spa_process` writes: an area of `outputCapacity` bytes in `memory`. */
  readonly outputOffset: number;
  readonly outputCapacity: number;
  /** The next stage's input ring (in its memory) or the pipeline's output ring. */
  readonly next: { readonly buffer: SharedArrayBuffer; readonly offset: number };
  readonly config: Uint8Array;
  /** The pipeline's control words and stats; this stage's are at `index`. */
  readonly control: SharedArrayBuffer;
  readonly stats: SharedArrayBuffer;
  readonly index: number;
  /** Wall-clock ms the host counts busy times from (threads share the wall clock). */
  readonly epochMs: number;
  /** Records are split's: the module sees each one's payload, and its output gets the tag back (split-tags.ts). */
  readonly carryTag?: boolean;
}

export type StageMessage =
  | { readonly type: 'stage:ready' }
  | { readonly type: 'stage:failed'; readonly message: string }
  | { readonly type: 'stage:stopped' };

/** How many outputs one input may produce (a held-chunk release drains with empty calls). */
const MAX_OUTPUTS_PER_INPUT = 64;
/** How long a stage waits for room downstream before it drops an output. */
const OUTPUT_WAIT_MS = 1000;

interface SpaExports {
  spa_init(cfgPtr: number, cfgLen: number): number;
  spa_process(inPtr: number, inLen: number, outPtr: number, outCap: number): number;
}

const now = () => performance.timeOrigin + performance.now();

export function runStage(init: StageInit, post: (message: StageMessage) => void): void {
  const control = new Int32Array(init.control, init.index * STAGE_WORDS * 4, STAGE_WORDS);
  const stats = new Float64Array(init.stats, init.index * STAGE_STATS * 8, STAGE_STATS);
  let spa: SpaExports;
  try {
    const instance = new WebAssembly.Instance(init.module, { env: { memory: init.memory } });
    spa = instance.exports as unknown as SpaExports;
    if (init.config.byteLength > init.outputCapacity) throw new Error('the configuration is larger than the I/O area');
    new Uint8Array(init.memory.buffer, init.outputOffset, init.config.byteLength).set(init.config);
    const status = spa.spa_init(init.outputOffset, init.config.byteLength);
    if (status !== 0) throw new Error(`spa_init refused its configuration (status ${status})`);
  } catch (error) {
    post({ type: 'stage:failed', message: error instanceof Error ? error.message : String(error) });
    return;
  }
  const input = new RingConsumer(sharedBufferOf(init.memory), init.inputOffset);
  const output = new RingProducer(init.next.buffer, init.next.offset);
  post({ type: 'stage:ready' });

  // A carried tag sits before the module's output area, so that the two leave as one record.
  const tagBytes = init.carryTag ? SPLIT_TAG_BYTES : 0;
  const process = (inPtr: number, inLen: number): number => {
    const started = now();
    // The watchdog reads this: ms since the epoch, +1 so that 0 means idle.
    Atomics.store(control, Control.BusySince, Math.max(1, Math.round(started - init.epochMs) + 1));
    let produced: number;
    try {
      produced = spa.spa_process(inPtr, inLen, init.outputOffset + tagBytes, init.outputCapacity - tagBytes);
    } catch {
      produced = -2; // a trap (out of bounds, unreachable, memory.grow past the cap)
    }
    Atomics.store(control, Control.BusySince, 0);
    const micros = (now() - started) * 1000;
    stats[Stat.BusyMicros]! += micros;
    stats[Stat.LastMicros] = micros;
    if (micros > stats[Stat.MaxMicros]!) stats[Stat.MaxMicros] = micros;
    return produced;
  };

  // Whether to ask for more output. A drain call (no input) that returns any negative value
  // just means "nothing more"; only a real chunk's failure counts as an error.
  const emit = (length: number, drain: boolean): boolean => {
    if (length === -1 || length === 0 || (drain && length < 0)) return false;
    if (length < 0 || length > init.outputCapacity) {
      stats[Stat.Errors]!++;
      return false;
    }
    return write(length);
  };
  const write = (length: number): boolean => {
    if (!output.waitForSpace(length, OUTPUT_WAIT_MS)) {
      stats[Stat.Dropped]!++;
      return true;
    }
    const view = output.reserve(length)!;
    view.set(new Uint8Array(init.memory.buffer, init.outputOffset, length));
    output.commit();
    stats[Stat.ChunksOut]!++;
    return true;
  };

  // One chunk's outputs: the first from the call on its input, more from calls with none.
  // `wrap` readies each (a carried tag put back around it).
  const outputs = (first: number, wrap: (length: number) => number) => {
    let more = emit(first, false);
    for (let n = 1; more && n < MAX_OUTPUTS_PER_INPUT; n++) {
      const next = process(0, 0);
      more = emit(next > 0 ? wrap(next) : next, true);
    }
  };
  const unwrapped = (length: number) => length;

  // One record of split's: its payload through the module, the tag around what comes out. The
  // tag is copied first (the module may write anywhere in its memory, the input ring too) and
  // put back after each call. Every record leaves at least its tag: an empty record is passed
  // on as it is, and a dropped or failed chunk leaves its tag alone.
  const tag = new Uint8Array(SPLIT_TAG_BYTES);
  const withTag = (length: number) => {
    new Uint8Array(init.memory.buffer, init.outputOffset, SPLIT_TAG_BYTES).set(tag);
    return length + SPLIT_TAG_BYTES;
  };
  const carried = (chunk: Uint8Array) => {
    if (chunk.byteLength < SPLIT_TAG_BYTES) {
      stats[Stat.Errors]!++;
      return;
    }
    tag.set(chunk.subarray(0, SPLIT_TAG_BYTES));
    const produced = chunk.byteLength === SPLIT_TAG_BYTES ? 0 : process(chunk.byteOffset + SPLIT_TAG_BYTES, chunk.byteLength - SPLIT_TAG_BYTES);
    if (produced < -1) stats[Stat.Errors]!++;
    if (produced <= 0) write(withTag(0));
    else outputs(withTag(produced), withTag);
  };

  for (;;) {
    if (!input.waitForData(1000)) {
      if (input.closed) break;
      continue;
    }
    const chunk = input.peek()!;
    stats[Stat.ChunksIn]!++;
    if (tagBytes > 0) carried(chunk);
    else outputs(process(chunk.byteOffset, chunk.byteLength), unwrapped);
    input.release();
  }
  output.close();
  post({ type: 'stage:stopped' });
}
