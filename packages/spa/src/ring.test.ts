import fc from 'fast-check';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { createRingBuffer, initRing, RecordTooLargeError, RingClaimedError, RingConsumer, RingProducer, ringBytes } from './ring.js';

const record = (length: number, seed: number) => Uint8Array.from({ length }, (_, i) => (i * 31 + seed) & 0xff);

describe('SPSC ring', () => {
  it('passes records in order, through many wrap-arounds, as a queue would', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.integer({ min: 0, max: 120 }), fc.constant(-1)), { maxLength: 400 }), (ops) => {
        const buffer = createRingBuffer(256);
        const producer = new RingProducer(buffer);
        const consumer = new RingConsumer(buffer);
        const reference: Uint8Array[] = [];
        ops.forEach((op, i) => {
          if (op >= 0) {
            const r = record(op, i);
            if (producer.tryWrite(r)) reference.push(r);
          } else {
            const next = consumer.peek();
            if (reference.length === 0) {
              expect(next).toBeNull();
              return;
            }
            expect([...next!]).toEqual([...reference.shift()!]);
            consumer.release();
          }
        });
        for (const expected of reference) {
          expect([...consumer.peek()!]).toEqual([...expected]);
          consumer.release();
        }
        expect(consumer.peek()).toBeNull();
        expect(consumer.used).toBe(0);
      }),
    );
  });

  it('reports full and empty, and frees space on release', () => {
    const buffer = createRingBuffer(64);
    const producer = new RingProducer(buffer);
    const consumer = new RingConsumer(buffer);
    expect(consumer.peek()).toBeNull();
    expect(() => consumer.release()).toThrow(/empty/);
    expect(producer.tryWrite(record(28, 1))).toBe(true); // 32 bytes with its length
    expect(producer.tryWrite(record(28, 2))).toBe(true); // 64: full
    expect(producer.tryWrite(record(1, 3))).toBe(false);
    expect(producer.reserve(1)).toBeNull();
    consumer.release();
    expect(producer.tryWrite(record(1, 3))).toBe(true);
    expect(() => producer.reserve(29)).toThrow(RecordTooLargeError);
  });

  it('writes and reads in place: views into the shared memory, no copies', () => {
    const buffer = createRingBuffer(128);
    const producer = new RingProducer(buffer);
    const consumer = new RingConsumer(buffer);
    const view = producer.reserve(4)!;
    expect(view.buffer).toBe(buffer);
    view.set([1, 2, 3, 4]);
    expect(consumer.peek()).toBeNull(); // not committed yet
    producer.commit();
    const read = consumer.peek()!;
    expect(read.buffer).toBe(buffer);
    expect([...read]).toEqual([1, 2, 3, 4]);
  });

  it('lives at an offset inside other memory and touches nothing outside its bytes', () => {
    const memory = new SharedArrayBuffer(4096);
    const all = new Uint8Array(memory);
    all.fill(0xee);
    initRing(memory, 1024, 256);
    const producer = new RingProducer(memory, 1024);
    const consumer = new RingConsumer(memory, 1024);
    for (let i = 0; i < 50; i++) {
      expect(producer.tryWrite(new Uint8Array(20).fill(i))).toBe(true);
      const read = consumer.peek()!;
      expect(read.byteOffset).toBeGreaterThanOrEqual(1024);
      expect([...read]).toEqual(new Array(20).fill(i));
      consumer.release();
    }
    const untouched = [...all.subarray(0, 1024), ...all.subarray(1024 + ringBytes(256))];
    expect(untouched.every((b) => b === 0xee)).toBe(true);
    expect(() => initRing(memory, 4000, 256)).toThrow(/does not fit/);
    expect(() => initRing(memory, 12, 256)).toThrow(/does not fit/);
  });

  it('refuses a second producer or consumer', () => {
    const buffer = createRingBuffer(64);
    new RingProducer(buffer);
    new RingConsumer(buffer);
    expect(() => new RingProducer(buffer)).toThrow(RingClaimedError);
    expect(() => new RingConsumer(buffer)).toThrow(RingClaimedError);
    expect(() => createRingBuffer(100)).toThrow(/power of two/);
  });

  it.each(['waitForSpace', 'waitForSpaceAsync'] as const)('%s: a release between the check for room and the wait is not missed', async (wait) => {
    const buffer = createRingBuffer(64);
    const producer = new RingProducer(buffer);
    const consumer = new RingConsumer(buffer);
    while (producer.tryWrite(new Uint8Array(12)));
    // The consumer frees a record just after the producer found the ring full, before it
    // waits: a producer that read the release counter only then would sleep its whole timeout.
    const reserve = producer.reserve.bind(producer);
    let releaseOnce = true;
    producer.reserve = (length) => {
      const view = reserve(length);
      if (!view && releaseOnce) {
        releaseOnce = false;
        consumer.peek();
        consumer.release();
      }
      return view;
    };
    // A missed release sleeps the whole 10 s timeout; a caught one returns at once. The bound
    // between them is generous so that a loaded machine cannot fail it.
    const started = Date.now();
    expect(await producer[wait](12, 10_000)).toBe(true);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('wakes a consumer blocked in another thread, which receives everything in order', async () => {
    const buffer = createRingBuffer(1024);
    const producer = new RingProducer(buffer);
    // The real RingConsumer in another thread, blocked in Atomics.wait until records come.
    // (The thread loads TypeScript through tsx's register API: execArgv --import is not
    // honoured by worker threads in Node 20.)
    const entry = new URL('./testing/ring-consumer-thread.ts', import.meta.url).href;
    const worker = new Worker(`import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(entry)}); })`, {
      eval: true,
      workerData: buffer,
    });
    const failed = new Promise<never>((_, reject) => worker.once('error', reject));
    const message = () => Promise.race([new Promise((resolve) => worker.once('message', resolve)), failed]);
    // Start writing once the consumer runs: before, any wait for room would time out.
    expect(await message()).toBe('ready');
    const done = message();
    // Bounded: a consumer that never runs must fail the test, not hang it.
    const deadline = Date.now() + 60_000;
    // With the consumer reading all along, no wait for room should time out. (Real
    // concurrency rarely hits the window a lost wake-up needs; the test above forces it.)
    let timeouts = 0;
    for (let i = 0; i < 20_000; i++) {
      const r = record(1 + (i % 200), 0);
      r[0] = i & 0xff;
      while (!producer.tryWrite(r)) {
        if (Date.now() > deadline) throw new Error('the consumer thread stopped reading');
        if (!producer.waitForSpace(r.byteLength, 5000)) timeouts++;
      }
    }
    producer.close();
    expect(await done).toEqual({ count: 20_000, ok: true });
    expect(timeouts).toBe(0);
    await worker.terminate();
  }, 90_000);
});
