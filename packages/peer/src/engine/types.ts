import type { Emulation, RoutingPolicyName } from '@cubecast/protocol';

/** What the engine needs from where it runs: a clock and timers (the worker, or a test). */
export interface EngineEnvironment {
  /** Milliseconds, monotonic. */
  now(): number;
  setTimer(callback: () => void, delayMs: number): unknown;
  clearTimer(handle: unknown): void;
  /** Everything the engine reports to the control plane. */
  emit(event: EngineEvent): void;
}

/** One end of a data channel to a linked host. */
export interface LinkTransport {
  send(bytes: Uint8Array): void;
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

export interface LinkStats {
  readonly hostId: string;
  readonly state: 'connecting' | 'open' | 'failed';
  readonly rttMs?: number;
  /** Sent, over the last stats interval. */
  readonly throughputKbps: number;
  readonly receivedKbps: number;
  readonly queued: number;
  readonly dropped: number;
  readonly lossRate: number;
}

export interface DeliveredChunk {
  readonly channel: number;
  readonly sequence: number;
  readonly flags: number;
  readonly payload: Uint8Array;
  /** End-to-end latency from the publisher, accumulated hop by hop. */
  readonly latencyUs: number;
  readonly hops: number;
}

export type EngineEvent =
  | { type: 'chunk'; chunk: DeliveredChunk }
  | { type: 'stats'; links: LinkStats[]; malformed: number; duplicates: number; forwarding: { channel: number; to: string[] }[] }
  | { type: 'link:failed'; hostId: string; reason: string }
  | { type: 'keyframe:request'; channel: number }
  | { type: 'route:established'; channel: number; subscriptionId: string; hops: number; latencyUs: number };

export type EngineEmulation = Emulation;
