/**
 * A lock-free single-producer single-consumer ring of variable-length records in a
 * SharedArrayBuffer. Stages of a pipeline (engine worker, SPA workers) pass chunks through
 * rings: the producer writes a record in place (`reserve` gives a view into shared memory,
 * `commit` publishes it), the consumer reads it in place (`peek`, then `release`). No copies
 * through postMessage, no structured clone; Atomics order the two and wake a waiting side.
 *
 * Layout (from the ring's offset in its buffer): 64 bytes of Int32 control words, then `capacity` bytes of data (a power of two).
 * Records are a u32 length, the bytes, and padding to 4; a record never straddles the end:
 * a length of 0xffffffff there means "continue at offset 0".
 */

const WRITE = 0; // total bytes committed (wraps at 2^32)
const READ = 1; // total bytes released
const PRODUCER = 2; // 1 once a producer has claimed the ring
const CONSUMER = 3;
const CLOSED = 4;
const CAPACITY = 5;
const CONTROL_BYTES = 64;
const WRAP = -1; // 0xffffffff as Int32

/** The ring already has a producer (or consumer): SPSC means exactly one of each. */
export class RingClaimedError extends Error {
  override readonly name = 'RingClaimedError';
}

/** A record larger than the ring can ever hold. */
export class RecordTooLargeError extends Error {
  override readonly name = 'RecordTooLargeError';
}

const align = (n: number) => (n + 3) & ~3;

/** Bytes a ring of `capacity` data bytes occupies: its control words and its data. */
export function ringBytes(capacity: number): number {
  return CONTROL_BYTES + capacity;
}

/** Shared memory for a ring of `capacity` data bytes (a power of two, 64 B to 1 GiB). */
export function createRingBuffer(capacity: number): SharedArrayBuffer {
  const buffer = new SharedArrayBuffer(ringBytes(checkCapacity(capacity)));
  initRing(buffer, 0, capacity);
  return buffer;
}

/**
 * Lays a ring out inside memory that already exists, at `byteOffset` (a multiple of 8): an SPA's
 * input ring lives in the module's own memory, so the module reads its chunks in place.
 */
export function initRing(buffer: SharedArrayBuffer, byteOffset: number, capacity: number): void {
  checkCapacity(capacity);
  if (byteOffset % 8 !== 0 || byteOffset + ringBytes(capacity) > buffer.byteLength) {
    throw new RangeError(`a ${capacity}-byte ring does not fit at offset ${byteOffset} of ${buffer.byteLength} bytes`);
  }
  const control = new Int32Array(buffer, byteOffset, CONTROL_BYTES / 4);
  control.fill(0);
  control[CAPACITY] = capacity;
}

function checkCapacity(capacity: number): number {
  if (!Number.isInteger(capacity) || capacity < 64 || capacity > 2 ** 30 || (capacity & (capacity - 1)) !== 0) {
    throw new RangeError(`ring capacity must be a power of two from 64 to 2^30 bytes, got ${capacity}`);
  }
  return capacity;
}

abstract class RingEnd {
  protected readonly control: Int32Array;
  protected readonly words: Int32Array;
  protected readonly bytes: Uint8Array;
  protected readonly capacity: number;

  constructor(
    readonly buffer: SharedArrayBuffer,
    readonly byteOffset: number,
    role: typeof PRODUCER | typeof CONSUMER,
  ) {
    this.control = new Int32Array(buffer, byteOffset, CONTROL_BYTES / 4);
    this.capacity = this.control[CAPACITY]!;
    this.words = new Int32Array(buffer, byteOffset + CONTROL_BYTES, this.capacity / 4);
    this.bytes = new Uint8Array(buffer, byteOffset + CONTROL_BYTES, this.capacity);
    if (Atomics.compareExchange(this.control, role, 0, 1) !== 0) {
      throw new RingClaimedError(`this ring already has a ${role === PRODUCER ? 'producer' : 'consumer'}`);
    }
  }

  /** Bytes committed and not yet released. */
  get used(): number {
    return (Atomics.load(this.control, WRITE) - Atomics.load(this.control, READ)) >>> 0;
  }

  get closed(): boolean {
    return Atomics.load(this.control, CLOSED) === 1;
  }

  /** No more records will be written; a waiting consumer wakes up. */
  close(): void {
    Atomics.store(this.control, CLOSED, 1);
    Atomics.notify(this.control, WRITE);
    Atomics.notify(this.control, READ);
  }
}

export class RingProducer extends RingEnd {
  private reserved = -1;

  constructor(buffer: SharedArrayBuffer, byteOffset = 0) {
    super(buffer, byteOffset, PRODUCER);
  }

  /** The largest record this ring can take. */
  get maxRecord(): number {
    return this.capacity / 2 - 4;
  }

  /**
   * A writable view of `length` bytes inside the ring, or null while the ring is too full.
   * Nothing is visible to the consumer until `commit`.
   */
  reserve(length: number): Uint8Array | null {
    if (length > this.maxRecord) throw new RecordTooLargeError(`a ${length}-byte record does not fit a ${this.capacity}-byte ring`);
    const write = Atomics.load(this.control, WRITE);
    const free = this.capacity - ((write - Atomics.load(this.control, READ)) >>> 0);
    const at = write & (this.capacity - 1);
    const need = 4 + align(length);
    const tail = this.capacity - at;
    // A record does not straddle the end: waste the tail (marked WRAP) and start at 0.
    const cost = need <= tail ? need : tail + need;
    if (cost > free) return null;
    this.reserved = length;
    const start = need <= tail ? at : 0;
    return this.bytes.subarray(start + 4, start + 4 + length);
  }

  /** Publishes the record written into the last `reserve`. */
  commit(): void {
    const length = this.reserved;
    if (length < 0) throw new Error('commit without reserve');
    this.reserved = -1;
    const write = Atomics.load(this.control, WRITE);
    const at = write & (this.capacity - 1);
    const need = 4 + align(length);
    const tail = this.capacity - at;
    let advance = need;
    let start = at;
    if (need > tail) {
      this.words[at >> 2] = WRAP;
      advance = tail + need;
      start = 0;
    }
    this.words[start >> 2] = length;
    // The store publishes the record's bytes (Atomics are sequentially consistent).
    Atomics.store(this.control, WRITE, (write + advance) | 0);
    Atomics.notify(this.control, WRITE);
  }

  /** Copies `record` in: for callers that do not produce in place. */
  tryWrite(record: Uint8Array): boolean {
    const view = this.reserve(record.byteLength);
    if (!view) return false;
    view.set(record);
    this.commit();
    return true;
  }

  /** Waits (worker threads only) until `length` bytes fit or `timeoutMs` passes. */
  waitForSpace(length: number, timeoutMs: number): boolean {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const step = this.spaceOrWait(length, deadline);
      if (typeof step === 'boolean') return step;
      Atomics.wait(this.control, READ, step.read, step.remaining);
    }
  }

  /** The same, without blocking the thread (for the main thread and event loops). */
  async waitForSpaceAsync(length: number, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const step = this.spaceOrWait(length, deadline);
      if (typeof step === 'boolean') return step;
      const wait = Atomics.waitAsync(this.control, READ, step.read, step.remaining);
      if (wait.async) await wait.value;
    }
  }

  /**
   * True if `length` bytes fit, false if the time is up or the ring closed; otherwise the
   * release counter to wait on. It is read before checking for room: a release between the
   * check and the wait changes it, so the wait returns at once instead of missing the wake-up.
   */
  private spaceOrWait(length: number, deadline: number): boolean | { read: number; remaining: number } {
    const read = Atomics.load(this.control, READ);
    if (this.reserve(length)) {
      this.reserved = -1;
      return true;
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0 || this.closed) return false;
    return { read, remaining };
  }
}

export class RingConsumer extends RingEnd {
  constructor(buffer: SharedArrayBuffer, byteOffset = 0) {
    super(buffer, byteOffset, CONSUMER);
  }

  /** A view of the next record, in shared memory, or null when the ring is empty. */
  peek(): Uint8Array | null {
    const read = Atomics.load(this.control, READ);
    if (read === Atomics.load(this.control, WRITE)) return null;
    let at = read & (this.capacity - 1);
    let length = this.words[at >> 2]!;
    if (length === WRAP) {
      at = 0;
      length = this.words[0]!;
    }
    return this.bytes.subarray(at + 4, at + 4 + length);
  }

  /** Frees the record `peek` returned; a producer waiting for space wakes up. */
  release(): void {
    const read = Atomics.load(this.control, READ);
    if (read === Atomics.load(this.control, WRITE)) throw new Error('release on an empty ring');
    let at = read & (this.capacity - 1);
    let advance = 0;
    if (this.words[at >> 2] === WRAP) {
      advance = this.capacity - at;
      at = 0;
    }
    advance += 4 + align(this.words[at >> 2]!);
    Atomics.store(this.control, READ, (read + advance) | 0);
    Atomics.notify(this.control, READ);
  }

  /** Waits (worker threads only) until a record arrives, the ring closes, or `timeoutMs` passes. */
  waitForData(timeoutMs: number): boolean {
    const write = Atomics.load(this.control, WRITE);
    if (write !== Atomics.load(this.control, READ)) return true;
    if (this.closed) return false;
    Atomics.wait(this.control, WRITE, write, timeoutMs);
    return Atomics.load(this.control, WRITE) !== Atomics.load(this.control, READ);
  }

  /** The same, without blocking the thread (for the main thread and event loops). */
  async waitForDataAsync(timeoutMs: number): Promise<boolean> {
    const write = Atomics.load(this.control, WRITE);
    if (write !== Atomics.load(this.control, READ)) return true;
    if (this.closed) return false;
    const wait = Atomics.waitAsync(this.control, WRITE, write, timeoutMs);
    if (wait.async) await wait.value;
    return Atomics.load(this.control, WRITE) !== Atomics.load(this.control, READ);
  }
}
