import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SpaSpec } from './signaling.js';
import { parsePipeline, pipelineVariant, PUBLISHED_VARIANT } from './pipeline-variant.js';

describe('pipeline variants', () => {
  it('the empty pipeline is the published stream; others hash their canonical JSON', () => {
    expect(pipelineVariant([])).toBe(PUBLISHED_VARIANT);
    // Golden values, FNV-1a of the canonical JSON computed by Python: every host must compute the same ids.
    expect(pipelineVariant([{ spa: 'thin' }]).toString(16)).toBe('9b781af0'); // [{"spa":"thin"}]
    expect(pipelineVariant([{ spa: 'thin', config: { maxLayer: 0 } }]).toString(16)).toBe('a2ee2089');
    expect(pipelineVariant([{ spa: 'thin', config: { maxLayer: 1 } }]).toString(16)).toBe('a3056598');
    // Config keys are sorted first: both orders are [{"spa":"pixels","config":{"grayscale":true,"halve":true}}].
    expect(pipelineVariant([{ spa: 'pixels', config: { halve: true, grayscale: true } }]).toString(16)).toBe('337ae29f');
    expect(pipelineVariant([{ spa: 'pixels', config: { grayscale: true, halve: true } }]).toString(16)).toBe('337ae29f');
  });

  const spec = fc.record(
    {
      spa: fc.constantFrom('thin', 'forward', 'pixels'),
      config: fc.dictionary(fc.constantFrom('maxLayer', 'halve', 'grayscale', 'n'), fc.oneof(fc.nat({ max: 3 }), fc.boolean()), { minKeys: 1 }),
    },
    { requiredKeys: ['spa'] },
  );

  /** What a pipeline means, written independently of the code under test: stages in order, each config as sorted entries. */
  const meaning = (pipeline: SpaSpec[]) => JSON.stringify(pipeline.map(({ spa, config }) => [spa, Object.entries(config ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))]));

  it('never collides with the published stream, and tells pipelines apart by stages, order and config', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.array(spec, { minLength: 1, maxLength: 4 }), { minLength: 2, maxLength: 2, selector: meaning }), ([a, b]) => {
        expect(pipelineVariant(a!)).not.toBe(PUBLISHED_VARIANT);
        // Different canonical pipelines, different variants (a 32-bit hash: a collision here would be a bug, not bad luck).
        expect(pipelineVariant(a!)).not.toBe(pipelineVariant(b!));
      }),
    );
  });

  it('ignores the order of config keys and nothing else', () => {
    fc.assert(
      fc.property(fc.array(spec, { minLength: 1, maxLength: 4 }), (pipeline) => {
        const reordered = pipeline.map(({ spa, config }) => (config ? { spa, config: Object.fromEntries(Object.entries(config).reverse()) } : { spa }));
        expect(pipelineVariant(reordered)).toBe(pipelineVariant(pipeline));
      }),
    );
  });

  it('parses pipelines from the network as the server does', () => {
    expect(parsePipeline([{ spa: 'thin', config: { maxLayer: 1 } }])).toEqual([{ spa: 'thin', config: { maxLayer: 1 } }]);
    for (const bad of [null, 'thin', [{ spa: 'Bad Name' }], [{ spa: 'thin', extra: 1 }], new Array(9).fill({ spa: 'thin' })]) expect(parsePipeline(bad)).toBeUndefined();
  });
});
