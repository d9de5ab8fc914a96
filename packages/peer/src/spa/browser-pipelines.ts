/// <reference path="../video/webcodecs.d.ts" />
import { TypedEmitter, videoFlagsOf, type SpaSpec } from '@cubecast/protocol';
import {
  BUILT_IN_SPAS,
  encodeCustomConfig,
  encodeSpaConfig,
  isBuiltInSpa,
  MAX_PAYLOAD_CHUNK_BYTES,
  spawnBrowserStage,
  SPLIT_TAG_BYTES,
  SpaPipeline,
  stagesCarryingTags,
  type SpaInput,
  type SpaStageSpec,
} from '@cubecast/spa';
import type { EnginePipeline, EnginePipelineEvents, SpaStageStats } from '../engine/types.js';
import { FrameCodec } from './frame-codec.js';

/** Where the engine worker finds what SPAs need: given by the page, which knows the bundle's URLs. */
export interface SpaResources {
  /** The bundled spa-stage.worker. */
  readonly stageWorkerUrl: string;
  /** Built-in name -> URL of its .wasm. */
  readonly builtIns: Readonly<Record<string, string>>;
  /** Custom modules are fetched from `${customModulesUrl}/<sha-256 hex>` (the server). */
  readonly customModulesUrl: string;
}

/** Largest decoded frame a pixel stage takes: 1280x720 I420 and its 8-byte header. */
const MAX_FRAME_RECORD = 8 + (1280 * 720 * 3) / 2;
const BUDGET_MS = 100;

/** A pipeline's module could not be found, fetched or trusted. */
export class SpaModuleError extends Error {
  override readonly name = 'SpaModuleError';
}

const hex = (bytes: ArrayBuffer) => [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, '0')).join('');

/**
 * Makes the engine's `createPipeline` for browsers: each run of consecutive stages that take
 * the same input becomes one SpaPipeline (a worker per stage); runs of pixel stages are
 * wrapped in a VP8 decoder before and an encoder after. Stages past a split (all, with
 * `splitInput`) run on its records, the tag carried around them.
 */
export function browserPipelineFactory(resources: SpaResources, moduleBytes: SpaModuleSource) {
  return async (pipeline: readonly SpaSpec[], { splitInput = false } = {}): Promise<EnginePipeline> => {
    const runs: { input: SpaInput; stages: SpaStageSpec[] }[] = [];
    const carrying = stagesCarryingTags(pipeline.map((spec) => spec.spa), splitInput);
    for (const [i, spec] of pipeline.entries()) {
      const input = isBuiltInSpa(spec.spa) ? BUILT_IN_SPAS[spec.spa].input : 'payload';
      if (input === 'tagged') throw new SpaModuleError(`${spec.spa} takes two streams: it runs in a coding session, not in a subscription's pipeline`);
      const carryTag = carrying[i]!;
      if (carryTag && input === 'frames') throw new SpaModuleError(`${spec.spa} works on decoded frames, which a split stream's paths do not carry: put it before split`);
      const stage: SpaStageSpec = {
        name: spec.spa,
        module: await moduleBytes(spec.spa),
        config: isBuiltInSpa(spec.spa) ? encodeSpaConfig(spec.spa, spec.config) : encodeCustomConfig(spec.config),
        carryTag,
      };
      const last = runs.at(-1);
      if (last?.input === input) last.stages.push(stage);
      else runs.push({ input, stages: [stage] });
    }
    const segments: Segment[] = [];
    try {
      for (const run of runs) segments.push(await startSegment(run.input, run.stages, resources.stageWorkerUrl));
    } catch (error) {
      for (const segment of segments) segment.close();
      throw error;
    }
    return new SegmentChain(segments);
  };
}

/** A module's bytes by its pipeline name: a built-in, or `custom:<sha-256>`. */
export type SpaModuleSource = (spa: string) => Promise<Uint8Array<ArrayBuffer>>;

/** Fetches each module once per worker (a failed fetch is tried again next time). */
export function spaModuleSource(resources: SpaResources): SpaModuleSource {
  const modules = new Map<string, Promise<Uint8Array<ArrayBuffer>>>();
  return (spa) => {
    let bytes = modules.get(spa);
    if (!bytes) {
      bytes = fetchModule(spa, resources);
      bytes.catch(() => modules.delete(spa));
      modules.set(spa, bytes);
    }
    return bytes;
  };
}

async function fetchModule(spa: string, resources: SpaResources): Promise<Uint8Array<ArrayBuffer>> {
  const custom = /^custom:([0-9a-f]{64})$/.exec(spa);
  const url = custom ? `${resources.customModulesUrl}/${custom[1]}` : resources.builtIns[spa];
  if (!url) throw new SpaModuleError(`there is no built-in SPA named ${spa}`);
  const response = await fetch(url);
  if (!response.ok) throw new SpaModuleError(`${spa}: the module could not be fetched (HTTP ${response.status})`);
  const bytes = await response.arrayBuffer();
  // A custom module is named by its hash: run only the bytes the subscriber chose.
  if (custom && hex(await crypto.subtle.digest('SHA-256', bytes)) !== custom[1]) throw new SpaModuleError(`${spa}: the module fetched does not match its hash`);
  return new Uint8Array(bytes);
}

type Segment = EnginePipeline;

async function startSegment(input: SpaInput, stages: SpaStageSpec[], stageWorkerUrl: string): Promise<Segment> {
  const spawn = () => spawnBrowserStage(stageWorkerUrl);
  if (input === 'frames') {
    const spa = await SpaPipeline.create({ stages, spawn, maxChunkBytes: MAX_FRAME_RECORD, budgetMs: BUDGET_MS });
    return new FrameCodec(spa);
  }
  // Split's records are a payload and its tag.
  const tagged = stages[0]!.carryTag === true || stages[0]!.name === 'merge';
  const maxChunkBytes = MAX_PAYLOAD_CHUNK_BYTES + (tagged ? SPLIT_TAG_BYTES : 0);
  const spa = await SpaPipeline.create({ stages, spawn, maxChunkBytes, budgetMs: BUDGET_MS });
  const last = stages.at(-1)!;
  return new PayloadSegment(spa, maxChunkBytes, last.carryTag === true || last.name === 'split' ? SPLIT_TAG_BYTES : 0);
}

/** SPAs on chunk payloads (no decoding): the engine's pipeline over an SpaPipeline. */
class PayloadSegment extends TypedEmitter<EnginePipelineEvents> implements EnginePipeline {
  private lastFlags = 0;

  /** `outputTagBytes`: the outputs are split's records, whose payload starts past the tag. */
  constructor(
    private readonly spa: SpaPipeline,
    private readonly maxChunkBytes: number,
    outputTagBytes: number,
  ) {
    super();
    // Outputs lag inputs (a worker per stage), so a video output's flags come from its own
    // header; anything else travels with the latest input's.
    spa.on('chunk:output', (chunk) => {
      // A view past the tag only for split's records: this runs for every chunk.
      const payload = outputTagBytes > 0 ? chunk.subarray(outputTagBytes) : chunk;
      this.emit('chunk:output', { payload: chunk.slice(), flags: videoFlagsOf(payload) ?? this.lastFlags });
    });
    spa.on('pipeline:died', ({ message }) => this.emit('pipeline:died', { message }));
  }

  push(payload: Uint8Array, flags: number): boolean {
    if (payload.byteLength > this.maxChunkBytes) return false;
    this.lastFlags = flags;
    return this.spa.push(payload);
  }

  stats(): SpaStageStats[] {
    return this.spa.stageStats();
  }

  close(): void {
    void this.spa.close();
  }
}

/** Segments in sequence: each one's output is the next one's input; one dies, all stop. */
class SegmentChain extends TypedEmitter<EnginePipelineEvents> implements EnginePipeline {
  private dead = false;

  constructor(private readonly segments: readonly Segment[]) {
    super();
    segments.forEach((segment, i) => {
      const next = segments[i + 1];
      if (next) segment.on('chunk:output', ({ payload, flags }) => void next.push(payload, flags));
      else segment.on('chunk:output', (output) => this.emit('chunk:output', output));
      segment.on('pipeline:died', ({ message }) => {
        if (this.dead) return;
        this.dead = true;
        this.close();
        this.emit('pipeline:died', { message });
      });
    });
  }

  push(payload: Uint8Array, flags: number): boolean {
    return this.segments[0]!.push(payload, flags);
  }

  stats(): SpaStageStats[] {
    return this.segments.flatMap((segment) => segment.stats());
  }

  close(): void {
    for (const segment of this.segments) segment.close();
  }
}
