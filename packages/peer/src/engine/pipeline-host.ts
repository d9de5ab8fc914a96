import { canonicalPipeline, pipelineVariant, PUBLISHED_VARIANT, type MessageHeader, type SpaSpec } from '@cubecast/protocol';
import type { EngineEnvironment, EnginePipeline, SpaReport } from './types.js';

/**
 * iOverlay's split and hold across two paths: a subscription whose pipeline starts with `split`
 * gets a second route, its setups' pipeline marked `path: 1` (so a variant of its own), laid
 * by another policy so it leaves by another link where the cube allows. The branch point sends
 * split's path-1 records as that variant; the subscriber's host merges both. Stages past the
 * split run on each path's records with split's tag carried around them (split-tags.ts in
 * @cubecast/spa), at the branch point or at hosts along the path (a service on each path).
 */
export const SPLIT = 'split';

/** The pipeline the second route of a split subscription carries in its setups. */
export const secondPath = (pipeline: readonly SpaSpec[]): SpaSpec[] => [{ spa: SPLIT, config: { ...pipeline[0]!.config, path: 1 } }, ...pipeline.slice(1)];
const isSecondPath = (pipeline: readonly SpaSpec[]) => pipeline[0]?.spa === SPLIT && pipeline[0].config?.['path'] === 1;
function firstPath(pipeline: readonly SpaSpec[]): SpaSpec[] {
  const { path: _, ...config } = pipeline[0]!.config ?? {};
  return [Object.keys(config).length > 0 ? { spa: SPLIT, config } : { spa: SPLIT }, ...pipeline.slice(1)];
}

/** Pipelines (variants) routes may ask this host about at once: more setups are dropped. */
const MAX_PIPELINE_SPECS = 64;

/**
 * A pipeline this host runs: as the branch point of the subscriptions that want its output,
 * (`merge`) to put a split stream back together for a subscription that ends here, or
 * (`stage`) to make its output from a variant whose pipeline is its first stages.
 */
export interface HostedPipeline {
  readonly role: 'branch' | 'merge' | 'stage';
  readonly channel: number;
  readonly variant: number;
  readonly spec: readonly SpaSpec[];
  state: 'starting' | 'running' | 'dead';
  pipeline?: EnginePipeline | undefined;
  error?: string;
  /** The last input's header and arrival: outputs inherit its source, sequence and latency. */
  last?: { header: MessageHeader; arrival: number };
  /** The sequence number of the last output. */
  lastSequence?: number;
}

/** What the host hands back to the switch. */
export interface PipelineHostOutputs {
  /** A branch pipeline's output, to leave as a chunk of `variant`. */
  output(hosted: HostedPipeline, variant: number, payload: Uint8Array, flags: number): void;
  /** A merge pipeline's output, for the subscription here. */
  merged(hosted: HostedPipeline, payload: Uint8Array, flags: number): void;
  /** A pipeline could not start, or stopped: it produces nothing more. */
  died(hosted: HostedPipeline, message: string): void;
}

/**
 * The SPA pipelines of one host: the pipelines route setups name (as variants), and those it
 * runs as a branch point or to merge a split stream. Starting is asynchronous; chunks that
 * arrive meanwhile are lost to that pipeline, as real time demands.
 */
export class PipelineHost {
  /** variant -> its pipeline, as the route setups that asked for it spelled it. */
  private readonly specs = new Map<number, readonly SpaSpec[]>();
  /** A split pipeline's variants: second path -> first, and first -> second. */
  private readonly splitFirst = new Map<number, number>();
  private readonly splitSecond = new Map<number, number>();
  /** `channel:variant:role` -> the pipeline producing that variant here. */
  private readonly hosted = new Map<string, HostedPipeline>();
  /** input -> output -> stagesFrom's answer (null: none), for known specs only; forgotten when specs change. */
  private readonly stagesKnown = new Map<number, Map<number, readonly SpaSpec[] | null>>();
  private closed = false;

  constructor(
    private readonly createPipeline: EngineEnvironment['createPipeline'],
    private readonly outputs: PipelineHostOutputs,
  ) {}

  /**
   * The variant a route setup's pipeline stands for, remembered so this host can run it;
   * undefined when the host already knows as many pipelines as it may.
   */
  learn(pipeline: readonly SpaSpec[]): number | undefined {
    const variant = pipelineVariant(pipeline);
    if (variant === PUBLISHED_VARIANT) return variant;
    if (!this.specs.has(variant) && this.specs.size >= MAX_PIPELINE_SPECS) return undefined;
    if (!this.specs.has(variant)) this.stagesKnown.clear();
    this.specs.set(variant, pipeline);
    if (isSecondPath(pipeline)) {
      const first = firstPath(pipeline);
      const firstVariant = pipelineVariant(first);
      this.specs.set(firstVariant, first);
      this.splitFirst.set(variant, firstVariant);
      this.splitSecond.set(firstVariant, variant);
    }
    // The split alone makes the two paths' records, which the stages past it take in.
    if (pipeline[0]?.spa === SPLIT && pipeline.length > 1) this.learn(secondPath(pipeline.slice(0, 1)));
    return variant;
  }

  /** The variant whose pipeline makes this one: a split's first path for its second. */
  baseVariant(variant: number): number {
    return this.splitFirst.get(variant) ?? variant;
  }

  /**
   * Whether `hosted` is the pipeline that makes `variant` here: a split's branch pipeline makes
   * both its paths, a stage pipeline (one path's, say) its own variant only.
   */
  makes(hosted: HostedPipeline, variant: number): boolean {
    return (hosted.role === 'stage' ? variant : this.baseVariant(variant)) === hosted.variant;
  }

  isSplit(variant: number): boolean {
    return this.specs.get(variant)?.[0]?.spa === SPLIT;
  }

  /**
   * The stages that make `output` from `input`: `output`'s pipeline past `input`'s, when that
   * is how it begins. Undefined when it does not, or either is unknown here.
   */
  stagesFrom(input: number, output: number): readonly SpaSpec[] | undefined {
    // Asked for each message switched where a branch wants another variant: remembered, and
    // looked up without making a key.
    const known = this.stagesKnown.get(input)?.get(output);
    if (known !== undefined) return known ?? undefined;
    const whole = this.specs.get(output);
    const prefix = input === PUBLISHED_VARIANT ? [] : this.specs.get(input);
    // Only pairs of known specs are remembered: a peer may name any variant.
    if (!whole || !prefix) return undefined;
    // A split runs where its two paths part (a branch pipeline on the published stream); past
    // it, stages on either path run on its records (as `splitInput`).
    const splits = whole[0]?.spa === SPLIT;
    const stages = prefix.length < whole.length && (!splits || prefix.length > 0) && canonicalPipeline(whole.slice(0, prefix.length)) === canonicalPipeline(prefix) ? whole.slice(prefix.length) : undefined;
    let fromInput = this.stagesKnown.get(input);
    if (!fromInput) this.stagesKnown.set(input, (fromInput = new Map()));
    fromInput.set(output, stages ?? null);
    return stages;
  }

  /**
   * Feeds a whole chunk to the pipeline making `variant` here, starting it if need be: a
   * `stage` pipeline takes the chunk's own variant in and runs the stages past it.
   */
  feed(header: MessageHeader, variant: number, payload: Uint8Array, now: number, role: HostedPipeline['role']): void {
    const hosted = this.hostedPipeline(header.channel, variant, role, header.destination);
    if (hosted?.state !== 'running') return; // starting: this chunk is lost to that branch; dead: so is every chunk
    hosted.last = { header, arrival: now };
    hosted.pipeline!.push(payload, header.flags);
  }

  private hostedPipeline(channel: number, variant: number, role: HostedPipeline['role'], input: number): HostedPipeline | undefined {
    const key = role === 'stage' ? `${channel}:${variant}:stage:${input}` : `${channel}:${variant}:${role}`;
    const existing = this.hosted.get(key);
    if (existing) return existing;
    // A branch point runs a split alone: its paths' records, as the split alone's variants,
    // are switched here again, into the stages past it (one pipeline a path, as where the paths
    // run on other hosts: each path's stages see that path's chunks only).
    const whole = this.specs.get(variant);
    const spec = role === 'merge' ? [{ spa: 'merge' }] : role === 'stage' ? this.stagesFrom(input, variant) : whole?.[0]?.spa === SPLIT ? firstPath(whole.slice(0, 1)) : whole;
    if (!spec) return undefined;
    const first = role === 'branch' && spec[0]?.spa === SPLIT ? pipelineVariant(spec) : undefined;
    const splitPaths = first === undefined ? undefined : ([first, this.splitSecond.get(first) ?? first] as const);
    const hosted: HostedPipeline = { role, channel, variant, spec, state: 'starting' };
    this.hosted.set(key, hosted);
    const fail = (message: string) => {
      hosted.state = 'dead';
      hosted.error = message;
      hosted.pipeline = undefined;
      this.outputs.died(hosted, message);
    };
    if (!this.createPipeline) {
      fail('this host cannot run SPAs');
      return hosted;
    }
    this.createPipeline(spec, { splitInput: role === 'stage' && this.isSplit(input) }).then(
      (pipeline) => {
        if (this.hosted.get(key) !== hosted || this.closed) {
          pipeline.close(); // no longer wanted by the time it started
          return;
        }
        hosted.state = 'running';
        hosted.pipeline = pipeline;
        pipeline.on('chunk:output', ({ payload: output, flags }) => {
          if (this.closed) return;
          if (role === 'merge') this.outputs.merged(hosted, output, flags);
          // Split's records name their path (byte 0): the second path's go out as its own variant.
          else if (splitPaths) this.outputs.output(hosted, output[0] === 1 ? splitPaths[1] : splitPaths[0], output, flags);
          else this.outputs.output(hosted, variant, output, flags);
        });
        pipeline.on('pipeline:died', ({ message }) => {
          pipeline.close();
          if (this.hosted.get(key) === hosted) fail(message);
        });
      },
      (error: unknown) => {
        if (this.hosted.get(key) === hosted) fail(error instanceof Error ? error.message : String(error));
      },
    );
    return hosted;
  }

  /** Stops the pipelines `wanted` no longer holds for, then forgets specs nothing names. */
  closeUnwanted(wanted: (hosted: HostedPipeline) => boolean, variantsInUse: Iterable<number>): void {
    for (const [key, hosted] of this.hosted) {
      if (wanted(hosted)) continue;
      hosted.pipeline?.close();
      this.hosted.delete(key);
    }
    const used = new Set<number>();
    for (const variant of variantsInUse) used.add(this.baseVariant(variant)).add(variant);
    for (const hosted of this.hosted.values()) used.add(hosted.variant);
    // A variant whose pipeline begins one in use is what a stage here takes in: kept too.
    for (const variant of this.specs.keys()) if ([...used].some((output) => this.stagesFrom(variant, output))) used.add(variant);
    for (const variant of this.specs.keys()) {
      if (used.has(variant)) continue;
      this.specs.delete(variant);
      this.stagesKnown.clear();
      const second = this.splitSecond.get(variant);
      this.splitSecond.delete(variant);
      if (second !== undefined) this.splitFirst.delete(second);
    }
  }

  /** Pipeline specs known now. */
  get specCount(): number {
    return this.specs.size;
  }

  reports(): SpaReport[] {
    return [...this.hosted.values()].map((hosted) => ({
      role: hosted.role,
      channel: hosted.channel,
      variant: hosted.variant,
      pipeline: hosted.spec.map((s) => s.spa),
      state: hosted.state,
      stages: hosted.pipeline?.stats() ?? [],
      ...(hosted.error !== undefined && { error: hosted.error }),
    }));
  }

  close(): void {
    this.closed = true;
    for (const hosted of this.hosted.values()) hosted.pipeline?.close();
    this.hosted.clear();
  }
}
