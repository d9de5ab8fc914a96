import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parsePipeline, pipelineVariant, PUBLISHED_VARIANT } from './pipeline-variant.js';

describe('pipeline variants', () => {
  it('the empty pipeline is the published stream; others hash their canonical JSON', () => {
    expect(pipelineVariant([])).toBe(PUBLISHED_VARIANT);
    // Golden values: every host must compute the same ids.
    expect(pipelineVariant([{ spa: 'thin', config: { maxLayer: 0 } }])).toBe(pipelineVariant([{ spa: 'thin', config: { maxLayer: 0 } }]));
    expect(pipelineVariant([{ spa: 'thin' }]).toString(16)).toBe('9b781af0'); // FNV-1a of [{"spa":"thin"}], by Python
    expect(pipelineVariant([{ spa: 'pixels', config: { halve: true, grayscale: true } }])).toBe(pipelineVariant([{ spa: 'pixels', config: { grayscale: true, halve: true } }]));
  });

  it('never collides with the published stream, and tells different pipelines apart', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ spa: fc.constantFrom('thin', 'forward', 'pixels') }), { minLength: 1, maxLength: 4 }), fc.nat({ max: 2 }), (pipeline, maxLayer) => {
        const variant = pipelineVariant(pipeline);
        expect(variant).not.toBe(PUBLISHED_VARIANT);
        expect(variant).not.toBe(pipelineVariant([...pipeline, { spa: 'thin', config: { maxLayer } }]));
      }),
    );
  });

  it('parses pipelines from the network as the server does', () => {
    expect(parsePipeline([{ spa: 'thin', config: { maxLayer: 1 } }])).toEqual([{ spa: 'thin', config: { maxLayer: 1 } }]);
    for (const bad of [null, 'thin', [{ spa: 'Bad Name' }], [{ spa: 'thin', extra: 1 }], new Array(9).fill({ spa: 'thin' })]) expect(parsePipeline(bad)).toBeUndefined();
  });
});
