import type { AlgorithmName, Emulation } from '@cubecast/protocol';
import type { SpaResources } from '../spa/browser-pipelines.js';
import type { CodingRole } from '../spa/coding-session.js';
import type { LossProtection } from './link.js';
import type { RouteRequestInfo } from '../algorithms/cube-routing.js';
import type { CubeView, EngineEvent } from './types.js';

/** What the control plane (main thread) tells the engine worker. */
export type EngineCommand =
  | { type: 'view'; view: CubeView }
  | { type: 'emulation'; emulation: Emulation }
  /** Where SPA modules and the stage worker are: without them this host runs no pipelines. */
  | { type: 'spa:resources'; resources: SpaResources }
  /** Starts network coding (iOverlay's case study) on chunks this host receives. */
  | { type: 'coding:start'; id: string; session: CodingRole }
  | { type: 'coding:stop'; id: string }
  /** The data channels (one per lane) are transferred with the message, in the task that created them. */
  | { type: 'link:add'; hostId: string; channels: RTCDataChannel[] }
  /** Another stripe for a link (a lossy link widened; LinkStripes): its channels, transferred likewise. */
  | { type: 'link:stripe'; hostId: string; channels: RTCDataChannel[] }
  | { type: 'link:remove'; hostId: string }
  | { type: 'publish'; channel: number; anchor: number }
  | { type: 'unpublish'; channel: number }
  | { type: 'chunk'; channel: number; flags: number; payload: ArrayBuffer }
  /** The overlay algorithm the room runs (algorithms/index.ts). */
  | { type: 'algorithm'; name: AlgorithmName }
  /** An observer's two integers for it (iOverlay's algorithm-specific control message). */
  | { type: 'algorithm:control'; a: number; b: number }
  | { type: 'route:request'; route: RouteRequestInfo }
  | { type: 'route:cancel'; subscriptionId: string }
  | { type: 'subscribe'; channel: number }
  | { type: 'unsubscribe'; channel: number }
  | { type: 'keyframe'; channel: number }
  /** How links protect timely data from loss (FEC by default; the loss benchmark compares). */
  | { type: 'loss-protection'; protection: LossProtection }
  /** The channel directory's numeric ids: the engine carries nothing of other channels. */
  | { type: 'channels'; ids: number[] }
  /** Diagnostics: raw bytes onto a link, unchecked. */
  | { type: 'raw'; hostId: string; bytes: ArrayBuffer }
  /** Benchmarks: publish `bytes`-sized chunks back to back for `durationMs`, paced by backpressure. */
  | { type: 'bench:flood'; channel: number; bytes: number; durationMs: number }
  | { type: 'close' };

/** What the engine worker reports: its events, plus an error if it failed. */
export type EngineReport = EngineEvent | { type: 'coding:failed'; id: string; message: string };

/**
 * What a command hands over to the worker rather than copies: data channels (they can be
 * transferred only in the task that created them) and payload buffers. Both ends post through
 * these, so no call site can forget a transfer list or name the wrong buffer.
 */
export function commandTransfer(command: EngineCommand): Transferable[] {
  switch (command.type) {
    case 'link:add':
    case 'link:stripe':
      return command.channels as unknown as Transferable[];
    case 'chunk':
      return [command.payload];
    case 'raw':
      return [command.bytes];
    default:
      return [];
  }
}

/** A delivered chunk's payload moves to the page: the worker keeps no reference to it. */
export function reportTransfer(report: EngineReport): Transferable[] {
  return report.type === 'chunk' ? [report.chunk.payload.buffer as ArrayBuffer] : [];
}
