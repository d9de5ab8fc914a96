import { afterEach, describe, expect, it } from 'vitest';
import { ClosedError, decodeSensorPayload, encodeSensorPayload } from '@cubecast/protocol';
import { SpaAbiError } from './abi.js';
import { encodeSpaConfig } from './built-in-configs.js';
import { SpaInitError, SpaPipeline, type SpaPipelineOptions } from './pipeline.js';
import { builtInBytes } from './testing/built-ins.js';
import { inlinePipeline } from './testing/inline-pipeline.js';
import { spawnNodeStage } from './testing/node-stage.js';
import { buildModule, i32, op, validSpec } from './testing/wasm-builder.js';

const open: SpaPipeline[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((p) => p.close()));
});

async function pipeline(options: Omit<SpaPipelineOptions, 'spawn'>): Promise<SpaPipeline> {
  const created = await SpaPipeline.create({ spawn: spawnNodeStage, ...options });
  open.push(created);
  return created;
}

/** A module whose spa_process runs `body` (wasm code) and whose memory is `min`..`max` pages. */
function misbehaving(body: number[], memory = { min: 1, max: 64 }, initBody?: number[]) {
  const spec = validSpec();
  spec.imports[0]!.memory = { flags: 3, ...memory };
  spec.functions[0] = { params: [i32, i32], results: [i32], ...(initBody && { body: initBody }) };
  spec.functions[1] = { params: [i32, i32, i32, i32], results: [i32], body };
  return buildModule(spec);
}

const forward = { name: 'forward', module: builtInBytes('forward') };
const collect = (p: SpaPipeline) => {
  const out: Uint8Array[] = [];
  p.on('chunk:output', (chunk) => out.push(chunk.slice()));
  return out;
};
const until = async (condition: () => boolean, ms = 10_000) => {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

describe('SPA pipeline', () => {
  it('runs stages past a split on its records\' payloads, the tag carried around them, as the inline pipeline does', async () => {
    const threshold = { spa: 'sensor', config: { mode: 'threshold', threshold: 40 } } as const;
    const stage = (name: string, config?: Uint8Array, carryTag = false) => ({ name, module: builtInBytes(name), ...(config && { config }), carryTag });
    const p = await pipeline({ stages: [stage('split'), stage('sensor', encodeSpaConfig('sensor', threshold.config), true), stage('merge')], maxChunkBytes: 4096 });
    const out = collect(p);
    // One reading a chunk, every third below the threshold: the sensor drops those chunks.
    const values = Array.from({ length: 60 }, (_, i) => (i % 3 === 0 ? 10 : 50 + i));
    for (const [i, value] of values.entries()) {
      while (!p.push(encodeSensorPayload([{ timeMs: i, value }]))) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    const kept = values.filter((v) => v >= 40);
    // Merge waits for no dropped chunk: the last reading comes out with no more input behind it.
    await until(() => out.length === kept.length);
    expect(out.flatMap((c) => decodeSensorPayload(c).map((r) => r.value))).toEqual(kept);
    expect(p.stageStats().map((s) => [s.name, s.chunksOut])).toEqual([['split', 60], ['sensor', 60], ['merge', kept.length]]);
    const inline = inlinePipeline([{ spa: 'split' }, threshold, { spa: 'merge' }]);
    const inlineOut: Uint8Array[] = [];
    inline.on('chunk:output', ({ payload }) => inlineOut.push(payload));
    for (const [i, value] of values.entries()) inline.push(encodeSensorPayload([{ timeMs: i, value }]), 0);
    expect(inlineOut).toEqual(out);
  });

  it('carries chunks through three worker stages in order, unchanged by forward', async () => {
    const p = await pipeline({ stages: [forward, forward, forward], maxChunkBytes: 20_000 });
    const out = collect(p);
    const sent = Array.from({ length: 300 }, (_, i) => Uint8Array.from({ length: (i * 7919) % 20_000 + 1 }, (_, j) => (i + j) & 0xff));
    for (const chunk of sent) {
      while (!p.push(chunk)) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await until(() => out.length === sent.length);
    expect(out.map((c) => c.byteLength)).toEqual(sent.map((c) => c.byteLength));
    expect(out.every((c, i) => c.every((b, j) => b === sent[i]![j]))).toBe(true);
    for (const stage of p.stageStats()) {
      expect(stage).toMatchObject({ name: 'forward', chunksIn: 300, chunksOut: 300, errors: 0, dropped: 0 });
      expect(stage.meanMicros).toBeGreaterThan(0);
    }
  });

  it('runs built-ins with their configuration: thin keeps layer 0 only', async () => {
    const p = await pipeline({ stages: [{ name: 'thin', module: builtInBytes('thin'), config: encodeSpaConfig('thin', { maxLayer: 0 }) }], maxChunkBytes: 1000 });
    const out = collect(p);
    for (let i = 0; i < 40; i++) p.push(new Uint8Array([2, 0, 0, 1, 0, 1, [0, 2, 1, 2][i % 4]!, 0, ...new Array(16).fill(0), i]));
    await until(() => p.stageStats()[0]!.chunksIn === 40);
    await until(() => out.length === 10);
    expect(out.map((c) => c[24])).toEqual([0, 4, 8, 12, 16, 20, 24, 28, 32, 36]);
  });

  it('a chunk that runs past its budget gets the pipeline stopped and reported', async () => {
    const p = await pipeline({ stages: [forward, { name: 'custom:spin', module: misbehaving(op.spinForever.concat(op.returnI32(0))) }, forward], maxChunkBytes: 100, budgetMs: 50 });
    const died = new Promise((resolve) => p.on('pipeline:died', resolve));
    const closed = new Promise((resolve) => p.on('pipeline:closed', resolve));
    const started = Date.now();
    p.push(new Uint8Array([1, 2, 3]));
    await expect(died).resolves.toMatchObject({ stage: 1, name: 'custom:spin', reason: 'budget', message: expect.stringMatching(/ran \d+ ms on one chunk \(budget 50 ms\)/) });
    await closed;
    expect(Date.now() - started).toBeLessThan(2000);
    expect(p.closed).toBe(true);
    expect(() => p.push(new Uint8Array(1))).toThrow(ClosedError);
  });

  it('keeps a module within its declared memory, and a trap costs only its chunk', async () => {
    // spa_process grows memory by 100 pages (past the 40-page cap), then stores to address
    // 2^31 when the chunk is 1 byte long (a trap), else returns the input length.
    const body = [
      ...op.grow(100),
      ...[0x20, 0x01, 0x41, 0x01, 0x46, 0x04, 0x40], // if (inLen == 1)
      ...op.storeAt(0x7ffffff0),
      0x0b, // end if
      ...op.inLen,
      0x0b,
    ];
    const p = await pipeline({ stages: [{ name: 'custom:greedy', module: misbehaving(body, { min: 1, max: 40 }) }], maxChunkBytes: 1000 });
    const out = collect(p);
    for (const length of [5, 1, 7, 1, 9]) p.push(new Uint8Array(length));
    await until(() => p.stageStats()[0]!.chunksIn === 5);
    const [stats] = p.stageStats();
    expect(stats).toMatchObject({ errors: 2, maximumPages: 40 });
    expect(stats!.memoryPages).toBeLessThanOrEqual(40);
    await until(() => out.length === 3);
    expect(p.closed).toBe(false);
  });

  it('refuses a module whose spa_init refuses its configuration', async () => {
    const refusing = misbehaving(op.returnI32(0), undefined, op.returnI32(3));
    await expect(SpaPipeline.create({ spawn: spawnNodeStage, stages: [{ name: 'custom:picky', module: refusing }], maxChunkBytes: 100 })).rejects.toThrow(SpaInitError);
    await expect(SpaPipeline.create({ spawn: spawnNodeStage, stages: [{ name: 'custom:picky', module: refusing }], maxChunkBytes: 100 })).rejects.toThrow(/status 3/);
  });

  it('refuses a module whose memory cap leaves no room for its chunks, before starting a worker', async () => {
    let spawned = 0;
    const spawn = () => {
      spawned++;
      return spawnNodeStage();
    };
    await expect(SpaPipeline.create({ spawn, stages: [{ name: 'custom:tiny', module: misbehaving(op.returnI32(0), { min: 1, max: 2 }) }], maxChunkBytes: 64_000 })).rejects.toThrow(SpaAbiError);
    await expect(SpaPipeline.create({ spawn, stages: [{ name: 'custom:tiny', module: misbehaving(op.returnI32(0), { min: 1, max: 2 }) }], maxChunkBytes: 64_000 })).rejects.toThrow(/at most 2 pages/);
    expect(spawned).toBe(0);
  });

  it('close lets queued chunks through, then stops', async () => {
    const p = await pipeline({ stages: [forward, forward], maxChunkBytes: 100 });
    const out = collect(p);
    for (let i = 0; i < 50; i++) p.push(new Uint8Array([i]));
    await p.close();
    expect(out.map((c) => c[0])).toEqual([...Array(50).keys()]);
    expect(() => p.push(new Uint8Array(1))).toThrow(ClosedError);
  });
});
