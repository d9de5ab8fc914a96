/**
 * The host side of an SPA pipeline: one dedicated worker per stage, chained by SPSC rings.
 *
 * Memory: each stage gets a shared WebAssembly.Memory capped at the module's declared
 * maximum. Above the module's initial pages (its static data and working memory) the host
 * lays out the stage's I/O region: its input ring, then the area `spa_process` writes to. The
 * previous stage (or the host) writes each chunk straight into that ring, and `spa_process`
 * gets a pointer to it in place; the only copy per stage is its output into the next ring,
 * which lives in the next module's memory (a module cannot address another's).
 *
 * Safety: a watchdog checks each stage's busy word; a chunk that runs past the budget gets the
 * whole pipeline terminated and `pipeline:died` reported. A trap fails only that chunk.
 */
import { ClosedError, TypedEmitter } from '@cubecast/protocol';
import { SpaAbiError, validateSpaModule } from './abi.js';
import { align8, ioRegionPages, PAGE, ringCapacityFor, STAGE_GROWTH } from './memory-layout.js';
import { createRingBuffer, initRing, RingConsumer, RingProducer, ringBytes } from './ring.js';
import { Control, sharedBufferOf, Stat, STAGE_STATS, STAGE_WORDS } from './stage-control.js';
import type { StageInit, StageMessage } from './stage-runtime.js';
import { watchdogMessage } from './watchdog.js';

/** How long `close` lets stages drain before it terminates them. */
const CLOSE_GRACE_MS = 2000;

/** A dedicated worker running `runStage` (spa-stage.worker.ts in browsers). */
export interface StageWorker {
  postMessage(message: StageInit): void;
  terminate(): void;
  onMessage(listener: (message: StageMessage) => void): void;
  onError(listener: (error: Error) => void): void;
}

export interface SpaStageSpec {
  /** Shown in stats and reports: a built-in's name, or `custom:<hash>`. */
  readonly name: string;
  readonly module: Uint8Array<ArrayBuffer>;
  readonly config?: Uint8Array;
  /** The stage runs on split's records, the tag carried around it (`stagesCarryingTags`). */
  readonly carryTag?: boolean;
}

export interface SpaPipelineOptions {
  readonly stages: readonly SpaStageSpec[];
  readonly spawn: () => StageWorker;
  /** The largest chunk `push` will be given. */
  readonly maxChunkBytes: number;
  /** Per-chunk time budget of each stage, ms (default 100). */
  readonly budgetMs?: number;
  /**
   * Multi-input SPAs (coding) need to know which stream a chunk came from: with `tagged`,
   * `push` prefixes [u8 input, 3 x u8 0, u32 seq (big-endian)] (docs/protocol.md).
   */
  readonly tagged?: boolean;
}

export interface StageStats {
  readonly name: string;
  readonly chunksIn: number;
  readonly chunksOut: number;
  readonly dropped: number;
  readonly errors: number;
  /** Mean and last `spa_process` time per chunk, µs. */
  readonly meanMicros: number;
  readonly lastMicros: number;
  readonly maxMicros: number;
  readonly memoryPages: number;
  readonly maximumPages: number;
}

export interface SpaDeath {
  readonly stage: number;
  readonly name: string;
  readonly reason: 'budget' | 'crashed';
  readonly message: string;
}

export interface SpaPipelineEvents extends Record<string, unknown> {
  /** Each output chunk of the last stage; the view is valid only during the call (copy to keep). */
  'chunk:output': Uint8Array;
  'pipeline:died': SpaDeath;
  'pipeline:closed': undefined;
}

/** A stage's module was refused by spa_init, or could not be instantiated. */
export class SpaInitError extends Error {
  override readonly name = 'SpaInitError';
}

interface Stage {
  readonly name: string;
  readonly worker: StageWorker;
  readonly memory: WebAssembly.Memory;
  readonly maximumPages: number;
}

export class SpaPipeline extends TypedEmitter<SpaPipelineEvents> {
  private readonly stages: Stage[] = [];
  private readonly input: RingProducer;
  private readonly output: RingConsumer;
  private readonly control: Int32Array;
  private readonly stats: Float64Array;
  private readonly epochMs = Date.now();
  private readonly watchdog: ReturnType<typeof setInterval>;
  private readonly stopped: Promise<void>[] = [];
  private state: 'open' | 'closing' | 'closed' = 'open';
  readonly budgetMs: number;

  /** Validates every module, starts a worker per stage, resolves once all are initialised. */
  static async create(options: SpaPipelineOptions): Promise<SpaPipeline> {
    const pipeline = new SpaPipeline(options);
    await pipeline.ready;
    return pipeline;
  }

  private readonly ready: Promise<void>;

  private constructor(private readonly options: SpaPipelineOptions) {
    super();
    if (options.stages.length === 0) throw new RangeError('a pipeline needs at least one stage');
    this.budgetMs = options.budgetMs ?? 100;
    const controlBuffer = new SharedArrayBuffer(options.stages.length * STAGE_WORDS * 4);
    const statsBuffer = new SharedArrayBuffer(options.stages.length * STAGE_STATS * 8);
    this.control = new Int32Array(controlBuffer);
    this.stats = new Float64Array(statsBuffer);

    // Lay out every stage's memory first: each stage writes into the next one's input ring.
    let chunkBytes = options.maxChunkBytes + (options.tagged ? 8 : 0);
    const layouts = options.stages.map((spec) => {
      const info = validateSpaModule(spec.module);
      const inputOffset = info.memory.initialPages * PAGE;
      const capacity = ringCapacityFor(chunkBytes);
      const outputOffset = align8(inputOffset + ringBytes(capacity));
      const outputCapacity = chunkBytes + STAGE_GROWTH;
      const pages = info.memory.initialPages + ioRegionPages(chunkBytes);
      if (pages > info.memory.maximumPages) {
        throw new SpaAbiError(
          `${spec.name} may use at most ${info.memory.maximumPages} pages of memory; with its I/O region for ` +
            `${Math.ceil(chunkBytes / 1024)} KB chunks it would need ${pages}`,
        );
      }
      const memory = new WebAssembly.Memory({ initial: pages, maximum: info.memory.maximumPages, shared: true });
      initRing(sharedBufferOf(memory), inputOffset, capacity);
      chunkBytes = outputCapacity;
      return { spec, info, memory, inputOffset, outputOffset, outputCapacity };
    });
    const outputBuffer = createRingBuffer(ringCapacityFor(chunkBytes));
    this.input = new RingProducer(sharedBufferOf(layouts[0]!.memory), layouts[0]!.inputOffset);
    this.output = new RingConsumer(outputBuffer);

    const ready = layouts.map((layout, index) => {
      const next = layouts[index + 1];
      const worker = options.spawn();
      this.stages.push({ name: layout.spec.name, worker, memory: layout.memory, maximumPages: layout.info.memory.maximumPages });
      let stopped!: () => void;
      this.stopped.push(new Promise((resolve) => (stopped = resolve)));
      const started = new Promise<void>((resolve, reject) => {
        worker.onMessage((message) => {
          if (message.type === 'stage:ready') resolve();
          else if (message.type === 'stage:failed') reject(new SpaInitError(`${layout.spec.name}: ${message.message}`));
          else stopped();
        });
        worker.onError((error) => {
          reject(new SpaInitError(`${layout.spec.name}: ${error.message}`));
          this.die({ stage: index, name: layout.spec.name, reason: 'crashed', message: error.message });
        });
      });
      worker.postMessage({
        module: new WebAssembly.Module(layout.spec.module),
        memory: layout.memory,
        inputOffset: layout.inputOffset,
        outputOffset: layout.outputOffset,
        outputCapacity: layout.outputCapacity,
        next: next
          ? { buffer: sharedBufferOf(next.memory), offset: next.inputOffset }
          : { buffer: outputBuffer, offset: 0 },
        config: layout.spec.config ?? new Uint8Array(0),
        control: controlBuffer,
        stats: statsBuffer,
        index,
        epochMs: this.epochMs,
        carryTag: layout.spec.carryTag === true,
      });
      return started;
    });
    this.watchdog = setInterval(() => this.checkBudgets(), Math.max(2, this.budgetMs / 4));
    this.ready = Promise.all(ready).then(
      () => void this.pump(),
      (error: unknown) => {
        this.shutDown();
        throw error;
      },
    );
  }

  get closed(): boolean {
    return this.state !== 'open';
  }

  /**
   * Writes a chunk into the first stage's input ring. False when the ring is full: a real-time
   * caller drops the chunk rather than wait.
   */
  push(chunk: Uint8Array, input = 0, seq = 0): boolean {
    if (this.state !== 'open') throw new ClosedError('the pipeline');
    if (chunk.byteLength > this.options.maxChunkBytes) throw new RangeError(`a ${chunk.byteLength}-byte chunk exceeds the pipeline's ${this.options.maxChunkBytes}`);
    const tag = this.options.tagged ? 8 : 0;
    const view = this.input.reserve(tag + chunk.byteLength);
    if (!view) return false;
    if (tag) {
      view[0] = input;
      view[1] = view[2] = view[3] = 0;
      new DataView(view.buffer, view.byteOffset + 4, 4).setUint32(0, seq);
    }
    view.set(chunk, tag);
    this.input.commit();
    return true;
  }

  /** Resolves true once a `bytes`-long chunk fits the first stage's ring (false on timeout or close). */
  waitForRoom(bytes: number, timeoutMs = 1000): Promise<boolean> {
    if (this.state !== 'open') return Promise.resolve(false);
    return this.input.waitForSpaceAsync(bytes + (this.options.tagged ? 8 : 0), timeoutMs);
  }

  stageStats(): StageStats[] {
    return this.stages.map((stage, index) => {
      const s = this.stats.subarray(index * STAGE_STATS, (index + 1) * STAGE_STATS);
      const chunks = s[Stat.ChunksIn]!;
      return {
        name: stage.name,
        chunksIn: chunks,
        chunksOut: s[Stat.ChunksOut]!,
        dropped: s[Stat.Dropped]!,
        errors: s[Stat.Errors]!,
        meanMicros: chunks > 0 ? s[Stat.BusyMicros]! / chunks : 0,
        lastMicros: s[Stat.LastMicros]!,
        maxMicros: s[Stat.MaxMicros]!,
        memoryPages: stage.memory.buffer.byteLength / PAGE,
        maximumPages: stage.maximumPages,
      };
    });
  }

  /** Lets queued chunks through, then stops every stage (terminating any that hang). */
  async close(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'closing';
    this.input.close();
    const grace = new Promise((resolve) => setTimeout(resolve, CLOSE_GRACE_MS));
    await Promise.race([Promise.all(this.stopped), grace]);
    this.deliverOutput();
    this.shutDown();
  }

  private checkBudgets(): void {
    const nowMs = Date.now() - this.epochMs;
    this.stages.forEach((stage, index) => {
      const busySince = Atomics.load(this.control, index * STAGE_WORDS + Control.BusySince);
      if (busySince === 0) return;
      const ran = nowMs - (busySince - 1);
      if (ran > this.budgetMs) {
        this.die({ stage: index, name: stage.name, reason: 'budget', message: watchdogMessage({ stage: stage.name, ranMs: ran, budgetMs: this.budgetMs }) });
      }
    });
  }

  private die(death: SpaDeath): void {
    if (this.state === 'closed') return;
    this.shutDown();
    this.emit('pipeline:died', death);
  }

  private shutDown(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearInterval(this.watchdog);
    for (const stage of this.stages) stage.worker.terminate();
    this.output.close();
    this.emit('pipeline:closed', undefined);
  }

  private async pump(): Promise<void> {
    while (this.state !== 'closed') {
      if (!(await this.output.waitForDataAsync(250))) {
        if (this.output.closed) break; // the last stage stopped, or the pipeline shut down
        continue;
      }
      this.deliverOutput();
    }
  }

  private deliverOutput(): void {
    for (let chunk = this.output.peek(); chunk; chunk = this.output.peek()) {
      this.emit('chunk:output', chunk);
      this.output.release();
    }
  }
}
