import { z } from 'zod';
import { NO_DESTINATION } from './data-plane.js';
import { LIMITS, spaSpecSchema, type SpaSpec } from './signaling.js';

/**
 * A channel travels in variants: as published, and as each pipeline's output. Data messages
 * carry their variant in the header's destination field (tree data has no destination), so a
 * relay knows what it is forwarding. The published stream is 0xffffffff; a pipeline's output
 * is the FNV-1a hash of its canonical JSON (never 0xffffffff).
 */
export const PUBLISHED_VARIANT = NO_DESTINATION;

/** The pipeline's JSON with config keys sorted: equal pipelines, equal text. */
export function canonicalPipeline(pipeline: readonly SpaSpec[]): string {
  return JSON.stringify(
    pipeline.map(({ spa, config }) => (config ? { spa, config: Object.fromEntries(Object.entries(config).sort(([a], [b]) => (a < b ? -1 : 1))) } : { spa })),
  );
}

export function pipelineVariant(pipeline: readonly SpaSpec[]): number {
  if (pipeline.length === 0) return PUBLISHED_VARIANT;
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(canonicalPipeline(pipeline))) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash === PUBLISHED_VARIANT ? PUBLISHED_VARIANT - 1 : hash;
}

const pipelineSchema = z.array(spaSpecSchema).max(LIMITS.maxPipelineStages);

/** A pipeline from the network (a route setup's JSON), checked as the server checks it; undefined if invalid. */
export function parsePipeline(value: unknown): SpaSpec[] | undefined {
  const parsed = pipelineSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}
