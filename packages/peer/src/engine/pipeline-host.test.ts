import { pipelineVariant, PUBLISHED_VARIANT, TypedEmitter, type SpaSpec } from '@cubecast/protocol';
import { describe, expect, it } from 'vitest';
import { messageHeader } from '../testing/sim-network.js';
import { PipelineHost, secondPath, type HostedPipeline } from './pipeline-host.js';
import type { EnginePipeline, EnginePipelineEvents } from './types.js';

/** A pipeline the test drives: it records what it is fed and emits what the test says. */
class FakePipeline extends TypedEmitter<EnginePipelineEvents> implements EnginePipeline {
  readonly pushed: Uint8Array[] = [];
  closed = false;
  push(payload: Uint8Array): boolean {
    this.pushed.push(payload);
    return true;
  }
  output(payload: Uint8Array, flags: number): void {
    this.emit('chunk:output', { payload, flags });
  }
  died(message: string): void {
    this.emit('pipeline:died', { message });
  }
  stats() {
    return [];
  }
  close(): void {
    this.closed = true;
  }
}

const started = () => new Promise((resolve) => setTimeout(resolve, 0));
const THIN: SpaSpec[] = [{ spa: 'thin', config: { maxLayer: 0 } }];
const SPLIT: SpaSpec[] = [{ spa: 'split' }];

function host(create?: (spec: readonly SpaSpec[]) => Promise<EnginePipeline>) {
  const made: { spec: readonly SpaSpec[]; splitInput: boolean | undefined; pipeline: FakePipeline }[] = [];
  const outputs: [string, number, number[]][] = [];
  const deaths: [string, string][] = [];
  const h = new PipelineHost(
    create ??
      (async (spec, options) => {
        const pipeline = new FakePipeline();
        made.push({ spec, splitInput: options?.splitInput, pipeline });
        return pipeline;
      }),
    {
      output: (hosted: HostedPipeline, variant, payload) => outputs.push([`${hosted.role}:${hosted.variant}`, variant, [...payload]]),
      merged: (hosted, payload) => outputs.push([`merge:${hosted.variant}`, hosted.variant, [...payload]]),
      died: (hosted, message) => deaths.push([hosted.spec.map((s) => s.spa).join('+'), message]),
    },
  );
  return { h, made, outputs, deaths };
}

describe('PipelineHost', () => {
  it('learns pipelines as variants, the published stream as itself, and refuses a 65th', () => {
    const { h } = host();
    expect(h.learn([])).toBe(PUBLISHED_VARIANT);
    expect(h.learn(THIN)).toBe(pipelineVariant(THIN));
    for (let i = 0; i < 63; i++) expect(h.learn([{ spa: 'thin', config: { n: i } }])).toBeDefined();
    expect(h.specCount).toBe(64);
    expect(h.learn([{ spa: 'thin', config: { n: 999 } }])).toBeUndefined();
    expect(h.learn(THIN)).toBe(pipelineVariant(THIN)); // one it knows: still fine
  });

  it('knows which stages make one variant from another: those past a pipeline it begins with, and none otherwise', async () => {
    const { h, made } = host();
    const gray: SpaSpec = { spa: 'pixels', config: { grayscale: true } };
    for (const pipeline of [THIN, [...THIN, gray], [gray], [gray, ...THIN]]) h.learn(pipeline);
    expect(h.stagesFrom(PUBLISHED_VARIANT, pipelineVariant([...THIN, gray]))).toEqual([...THIN, gray]);
    expect(h.stagesFrom(pipelineVariant(THIN), pipelineVariant([...THIN, gray]))).toEqual([gray]);
    // Not a prefix, the same, longer, or unknown: none.
    expect(h.stagesFrom(pipelineVariant([gray]), pipelineVariant([...THIN, gray]))).toBeUndefined();
    expect(h.stagesFrom(pipelineVariant(THIN), pipelineVariant(THIN))).toBeUndefined();
    expect(h.stagesFrom(pipelineVariant([...THIN, gray]), pipelineVariant(THIN))).toBeUndefined();
    expect(h.stagesFrom(12345, pipelineVariant([...THIN, gray]))).toBeUndefined();
    // A stage pipeline runs only the stages past its input's.
    h.feed(messageHeader({ channel: 1, destination: pipelineVariant(THIN) }), pipelineVariant([...THIN, gray]), new Uint8Array([1]), 0, 'stage');
    await started();
    expect(made.map((m) => m.spec)).toEqual([[gray]]);
  });

  it('starts a pipeline on its first chunk (which is lost to it), then feeds it and hands on its outputs', async () => {
    const { h, made, outputs } = host();
    const variant = h.learn(THIN)!;
    h.feed(messageHeader({ sequence: 1 }), variant, new Uint8Array([1]), 0, 'branch');
    await started();
    expect(made.map((m) => m.spec)).toEqual([THIN]);
    h.feed(messageHeader({ sequence: 2 }), variant, new Uint8Array([2]), 0, 'branch');
    expect(made[0]!.pipeline.pushed).toEqual([new Uint8Array([2])]);
    made[0]!.pipeline.output(new Uint8Array([20]), 0);
    expect(outputs).toEqual([[`branch:${variant}`, variant, [20]]]);
    expect(h.reports()).toEqual([expect.objectContaining({ role: 'branch', pipeline: ['thin'], state: 'running' })]);
  });

  it('sends a split pipeline`s path-1 records as the second path`s variant, and maps that variant back', async () => {
    const { h, made, outputs } = host();
    const second = h.learn(secondPath(SPLIT))!;
    const first = pipelineVariant(SPLIT);
    expect(h.baseVariant(second)).toBe(first);
    expect(h.isSplit(first)).toBe(true);
    h.feed(messageHeader({}), first, new Uint8Array([0]), 0, 'branch');
    await started();
    made[0]!.pipeline.output(new Uint8Array([0, 5]), 0);
    made[0]!.pipeline.output(new Uint8Array([1, 6]), 0);
    expect(outputs.map(([, variant]) => variant)).toEqual([first, second]);
  });

  it('runs the stages past a split on either path as a stage pipeline on split\'s records; never the split itself', async () => {
    const { h, made, outputs } = host();
    const first = h.learn([...SPLIT, ...THIN])!;
    const second = h.learn(secondPath([...SPLIT, ...THIN]))!;
    const [firstPath, secondPathOnly] = [h.learn(SPLIT)!, h.learn(secondPath(SPLIT))!];
    expect(h.stagesFrom(firstPath, first)).toEqual(THIN);
    expect(h.stagesFrom(secondPathOnly, second)).toEqual(THIN);
    // Across the paths, or from the published stream (split parts the paths where it runs): none.
    expect(h.stagesFrom(firstPath, second)).toBeUndefined();
    expect(h.stagesFrom(PUBLISHED_VARIANT, first)).toBeUndefined();
    h.feed(messageHeader({ destination: secondPathOnly }), second, new Uint8Array([1, 0, 0, 0, 0, 0, 0, 1, 9]), 0, 'stage');
    h.feed(messageHeader({ destination: firstPath }), first, new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 9]), 0, 'stage');
    await started();
    expect(made.map((m) => [m.spec, m.splitInput])).toEqual([[THIN, true], [THIN, true]]);
    // The second path's stage pipeline makes its own variant, not its first path's.
    const [secondStage, firstStage] = h.reports().map((r) => ({ role: 'stage', variant: r.variant }) as HostedPipeline);
    expect([h.makes(secondStage!, second), h.makes(secondStage!, first), h.makes(firstStage!, first)]).toEqual([true, false, true]);
    // Each path's records leave as that path's variant.
    made[0]!.pipeline.output(new Uint8Array([1, 0, 0, 0, 0, 0, 0, 3]), 0);
    made[1]!.pipeline.output(new Uint8Array([0, 0, 0, 0, 0, 0, 0, 2]), 0);
    expect(outputs.map(([, variant]) => variant)).toEqual([second, first]);
    // A stage pipeline on the published stream is not given split's records.
    h.learn([...THIN, { spa: 'forward' }]);
    h.feed(messageHeader({ destination: h.learn(THIN)! }), pipelineVariant([...THIN, { spa: 'forward' }]), new Uint8Array([1]), 0, 'stage');
    await started();
    expect(made[2]!.splitInput).toBe(false);
  });

  it('reports a pipeline that cannot start, or dies, once, and feeds it nothing more', async () => {
    const none = host(() => Promise.reject(new Error('no such SPA: nope')));
    const variant = none.h.learn([{ spa: 'nope' }])!;
    none.h.feed(messageHeader({}), variant, new Uint8Array([1]), 0, 'branch');
    await started();
    none.h.feed(messageHeader({}), variant, new Uint8Array([1]), 0, 'branch');
    await started();
    expect(none.deaths).toEqual([['nope', 'no such SPA: nope']]);
    expect(none.h.reports()).toEqual([expect.objectContaining({ state: 'dead', error: 'no such SPA: nope' })]);

    const { h, made, deaths } = host();
    const thin = h.learn(THIN)!;
    h.feed(messageHeader({}), thin, new Uint8Array([1]), 0, 'branch');
    await started();
    made[0]!.pipeline.died('thin ran 150 ms on one chunk');
    expect(made[0]!.pipeline.closed).toBe(true);
    h.feed(messageHeader({}), thin, new Uint8Array([2]), 0, 'branch');
    expect(made[0]!.pipeline.pushed).toEqual([]);
    expect(deaths).toEqual([['thin', 'thin ran 150 ms on one chunk']]);
  });

  it('without a way to run SPAs, says so', () => {
    const deaths: string[] = [];
    const h = new PipelineHost(undefined, { output: () => {}, merged: () => {}, died: (_, message) => deaths.push(message) });
    h.feed(messageHeader({}), h.learn(THIN)!, new Uint8Array([1]), 0, 'branch');
    expect(deaths).toEqual(['this host cannot run SPAs']);
  });

  it('closes pipelines no longer wanted and forgets specs nothing names; after close, outputs go nowhere', async () => {
    const { h, made, outputs } = host();
    const thin = h.learn(THIN)!;
    const other = h.learn([{ spa: 'forward' }])!;
    h.feed(messageHeader({}), thin, new Uint8Array([1]), 0, 'branch');
    await started();
    h.closeUnwanted(() => true, [thin]);
    expect(h.specCount).toBe(1); // forward: named by nothing
    expect(h.learn([{ spa: 'forward' }])).toBe(other);
    h.closeUnwanted(() => false, []);
    expect(made[0]!.pipeline.closed).toBe(true);
    expect(h.specCount).toBe(0);
    expect(h.reports()).toEqual([]);

    const second = host();
    const v = second.h.learn(THIN)!;
    second.h.feed(messageHeader({}), v, new Uint8Array([1]), 0, 'branch');
    await started();
    second.h.close();
    expect(second.made[0]!.pipeline.closed).toBe(true);
    second.made[0]!.pipeline.output(new Uint8Array([9]), 0);
    expect(second.outputs).toEqual([]);
    expect(outputs).toEqual([]);
  });

  it('a pipeline that starts after it stopped being wanted is closed at once', async () => {
    let resolve!: (p: EnginePipeline) => void;
    const late = new FakePipeline();
    const { h } = host(() => new Promise((r) => (resolve = r)));
    const v = h.learn(THIN)!;
    h.feed(messageHeader({}), v, new Uint8Array([1]), 0, 'branch');
    h.closeUnwanted(() => false, []);
    resolve(late);
    await started();
    expect(late.closed).toBe(true);
  });
});
