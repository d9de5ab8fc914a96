import type { Emulation, RoutingPolicyName, SpaSpec } from '@cubecast/protocol';

/** What the engine needs from where it runs: a clock and timers (the worker, or a test). */
export interface EngineEnvironment {
  /** Milliseconds, monotonic. */
  now(): number;
  setTimer(callback: () => void, delayMs: number): unknown;
  clearTimer(handle: unknown): void;
  /** Everything the engine reports to the control plane. */
  emit(event: EngineEvent): void;
  /**
   * Starts a subscription pipeline's SPAs where this host is its branch point. Without it the
   * host runs no SPAs, and branches that need one get nothing from it. `splitInput`: its input
   * is split's records (a stage pipeline on one path of a split stream), whose tags its stages
   * carry.
   */
  createPipeline?(pipeline: readonly SpaSpec[], options?: { readonly splitInput?: boolean }): Promise<EnginePipeline>;
}

export interface EnginePipelineEvents extends Record<string, unknown> {
  /**
   * Each output, with the flags it travels with (the input's, unless the pipeline re-encodes).
   * The payload is the listener's to keep: implementations hand over a copy of their memory.
   */
  'chunk:output': { payload: Uint8Array; flags: number };
  /** The watchdog stopped it, or a stage crashed: it produces nothing more. */
  'pipeline:died': { message: string };
}

/** A running pipeline, as the engine sees it: chunks in, chunks out. */
export interface EnginePipeline {
  /** False when the pipeline is full: the chunk is dropped (real time does not wait). */
  push(payload: Uint8Array, flags: number): boolean;
  /** Listens (the TypedEmitter's `on`); the function returned stops listening. */
  on<E extends keyof EnginePipelineEvents & string>(event: E, listener: (payload: EnginePipelineEvents[E]) => void): () => void;
  stats(): readonly SpaStageStats[];
  close(): void;
}

export interface SpaStageStats {
  readonly name: string;
  readonly chunksIn: number;
  readonly chunksOut: number;
  readonly errors: number;
  /** Mean and last `spa_process` time per chunk, µs. */
  readonly meanMicros: number;
  readonly lastMicros: number;
}

/** A pipeline this host runs for a channel (it is the branch point of its subscriptions). */
export interface SpaReport {
  /**
   * `branch`: this host is the pipeline's branch point; `merge`: it reassembles a split stream
   * for a subscription here; `stage`: it runs the pipeline's later stages on a variant another
   * host made (a pipeline placed across hosts, as service federation does).
   */
  readonly role: 'branch' | 'merge' | 'stage';
  readonly channel: number;
  readonly variant: number;
  readonly pipeline: readonly string[];
  readonly state: 'starting' | 'running' | 'dead';
  readonly stages: readonly SpaStageStats[];
  /** Why it died. */
  readonly error?: string;
}

/** A link's data channels, as the engine drives them: one per lane (protocol's LINK_CHANNELS). */
export interface LinkTransport {
  send(bytes: Uint8Array, lane: number): void;
  /** Over all its channels. */
  readonly bufferedAmount: number;
  close(): void;
}

export interface CubeView {
  readonly hostId: string;
  readonly epoch: number;
  readonly k: number;
  readonly n: number;
  readonly ids: readonly number[];
  readonly neighbours: readonly (readonly [number, string])[];
  readonly policy: RoutingPolicyName;
}

/** A link's life: `stalled` is silent past the limit but not yet given up (see LinkMonitor). */
export type LinkState = 'connecting' | 'open' | 'stalled' | 'failed';

export interface LinkStats {
  readonly hostId: string;
  readonly state: LinkState;
  readonly rttMs?: number;
  /** Sent, over the last stats interval. */
  readonly throughputKbps: number;
  readonly receivedKbps: number;
  readonly queued: number;
  readonly dropped: number;
  /** Timely data dropped here because no subscriber down this link could still use it. */
  readonly late: number;
  /** FEC repairs sent here because the peer asked: blocks its repairs had not rebuilt. */
  readonly repairsResent: number;
  /** Share of this end's messages the path to the peer loses, as the peer measured it. */
  readonly lossRate: number;
  /** Share of the peer's messages the path from it loses, as measured here. */
  readonly inboundLossRate: number;
  /** Bytes the link's data channels hold, not yet sent (their `bufferedAmount`). */
  readonly bufferedBytes: number;
  /** Bytes sent on the link since it was made, headers and repairs included. */
  readonly sentBytes: number;
}

export interface DeliveredChunk {
  readonly channel: number;
  /** Which variant of the channel: as published, or a pipeline's output (protocol's pipelineVariant). */
  readonly variant: number;
  readonly sequence: number;
  readonly flags: number;
  readonly payload: Uint8Array;
  /** End-to-end latency from the publisher, accumulated hop by hop. */
  readonly latencyUs: number;
  readonly hops: number;
}

export type EngineEvent =
  | { type: 'chunk'; chunk: DeliveredChunk }
  | { type: 'stats'; links: LinkStats[]; malformed: number; duplicates: number; forwarding: { channel: number; to: string[] }[]; spas: SpaReport[] }
  | { type: 'spa:died'; channel: number; variant: number; pipeline: string[]; message: string }
  | { type: 'link:stalled'; hostId: string; reason: string }
  | { type: 'link:recovered'; hostId: string }
  | { type: 'link:failed'; hostId: string; reason: string }
  | { type: 'keyframe:request'; channel: number }
  | { type: 'route:established'; channel: number; subscriptionId: string; hops: number; latencyUs: number }
  /** Work the engine could not do (a command, a periodic round); the engine goes on. */
  | { type: 'engine:error'; message: string };

export type EngineEmulation = Emulation;
